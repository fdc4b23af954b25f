// sd_notify without a child process: the datagrams the daemon sends, received by a real AF_UNIX datagram socket
// (python3, as systemd's manager would bind it) on a path and on an abstract name.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { notifyAddress, notifySystemd } from '../../src/systemd-notify.js';

// Binds the address, says "ready", prints each datagram (JSON string) and the sender's pid (SO_PASSCRED).
const RECEIVER = String.raw`
import json, socket, struct, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind('\0' + addr[1:] if addr.startswith('@') else addr)
print('ready', flush=True)
for _ in range(int(sys.argv[2])):
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = next(struct.unpack('iII', d)[0] for level, kind, d in anc if kind == socket.SCM_CREDENTIALS)
    print(json.dumps({'data': data.decode(), 'pid': pid}), flush=True)
`;

let dir: string | undefined;
const saved = process.env.NOTIFY_SOCKET;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  if (saved === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = saved;
});

/** Starts the receiver for `count` datagrams; resolves once it is bound, with a promise of what it got. */
async function receive(address: string, count: number) {
  const child = spawn('python3', ['-c', RECEIVER, address, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ data: string; pid: number }[]>((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0
        ? resolve(
            out
              .split('\n')
              .slice(1)
              .filter(Boolean)
              .map((l) => JSON.parse(l) as { data: string; pid: number }),
          )
        : reject(new Error(`receiver exited ${code}: ${err}`)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('exit', () => reject(new Error(`receiver failed: ${err}`)));
  });
  return { done, kill: () => child.kill() };
}

describe('notifySystemd', () => {
  it('sends each notification as one datagram from the daemon’s own pid, to a path', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bsd-notify-'));
    const path = join(dir, 'notify');
    const r = await receive(path, 2);
    process.env.NOTIFY_SOCKET = path;
    await notifySystemd('READY=1', 'STATUS=serving /sysroot/ostree/bootc/storage');
    await notifySystemd('WATCHDOG=1');
    const got = await r.done;
    expect(got).toEqual([
      { data: 'READY=1\nSTATUS=serving /sysroot/ostree/bootc/storage', pid: process.pid },
      { data: 'WATCHDOG=1', pid: process.pid },
    ]);
  });

  it('reaches an abstract socket ("@name"), and keeps a status on one line', async () => {
    const name = `@bsd-notify-test-${process.pid}-${Date.now()}`;
    const r = await receive(name, 1);
    process.env.NOTIFY_SOCKET = name;
    await notifySystemd('STATUS=cannot open\nthe store');
    expect(await r.done).toEqual([{ data: 'STATUS=cannot open the store', pid: process.pid }]);
  });

  it('does nothing without NOTIFY_SOCKET, and does not fail when nobody listens', async () => {
    delete process.env.NOTIFY_SOCKET;
    await expect(notifySystemd('READY=1')).resolves.toBeUndefined();
    dir = mkdtempSync(join(tmpdir(), 'bsd-notify-'));
    process.env.NOTIFY_SOCKET = join(dir, 'nobody-here');
    await expect(notifySystemd('READY=1')).resolves.toBeUndefined();
  });
});

describe('notifyAddress', () => {
  it('lays out sockaddr_un as sd_notify does: a path with its NUL, an abstract name without one', () => {
    const path = notifyAddress('/run/systemd/notify')!;
    expect(path.readUInt16LE(0)).toBe(1);
    expect(path.subarray(2).toString()).toBe('/run/systemd/notify\0');
    const abstract = notifyAddress('@x')!;
    expect([...abstract]).toEqual([1, 0, 0, 'x'.charCodeAt(0)]);
  });

  it('refuses what is not an AF_UNIX address or does not fit', () => {
    expect(notifyAddress('vsock:2:1234')).toBeUndefined();
    expect(notifyAddress(`/${'a'.repeat(200)}`)).toBeUndefined();
  });
});
