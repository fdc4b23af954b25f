// sd_notify without a child process: the datagrams the daemon sends, received by a real AF_UNIX datagram socket
// (python3, as systemd's manager would bind it) on a path and on an abstract name.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { notifyAddress, notifySystemd } from '../../src/systemd-notify.js';
import { startNotifyReceiver } from '../helpers/notify-receiver.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void } | undefined;
const saved = process.env.NOTIFY_SOCKET;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
  if (saved === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = saved;
});

describe('notifySystemd', () => {
  it('sends each notification as one datagram from the daemon’s own pid, to a path', async () => {
    tmp = makeTempDir('bsd-notify-');
    const dir = tmp.path;
    const path = join(dir, 'notify');
    const r = await startNotifyReceiver(path, 2);
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
    const r = await startNotifyReceiver(name, 1);
    process.env.NOTIFY_SOCKET = name;
    await notifySystemd('STATUS=cannot open\nthe store');
    expect(await r.done).toEqual([{ data: 'STATUS=cannot open the store', pid: process.pid }]);
  });

  it('does nothing without NOTIFY_SOCKET, and does not fail when nobody listens', async () => {
    delete process.env.NOTIFY_SOCKET;
    await expect(notifySystemd('READY=1')).resolves.toBeUndefined();
    tmp = makeTempDir('bsd-notify-');
    const dir = tmp.path;
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
