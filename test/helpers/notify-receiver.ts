// An sd_notify receiver as systemd's manager binds one: an AF_UNIX datagram socket (a path, or an abstract
// "@name") with SO_PASSCRED, so each datagram comes with its sender's pid. A python3 process, since Node has no
// AF_UNIX datagrams. Used by the notify unit test and bench/memory.ts.

import { spawn } from 'node:child_process';

/** One datagram: its text and the pid the kernel says sent it. */
export interface Notification {
  data: string;
  pid: number;
}

export interface NotifyReceiver {
  /** The datagrams so far. */
  messages(): Notification[];
  /** Resolves once `count` datagrams arrived (the receiver then exits); rejects if it failed. */
  done: Promise<Notification[]>;
  stop(): void;
}

// Binds argv[1], says "ready", prints each datagram (JSON) with the sender's pid; argv[2] of them, 0 for no end.
const RECEIVER = String.raw`
import json, socket, struct, sys
addr, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind('\0' + addr[1:] if addr.startswith('@') else addr)
print('ready', flush=True)
n = 0
while count == 0 or n < count:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = next(struct.unpack('iII', d)[0] for level, kind, d in anc if kind == socket.SCM_CREDENTIALS)
    print(json.dumps({'data': data.decode(), 'pid': pid}), flush=True)
    n += 1
`;

/** Binds `address` and records what arrives; resolves once it is bound. `count` 0 receives until stopped. */
export async function startNotifyReceiver(address: string, count = 0): Promise<NotifyReceiver> {
  const child = spawn('python3', ['-c', RECEIVER, address, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const messages = () =>
    out
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Notification);
  const done = new Promise<Notification[]>((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0 ? resolve(messages()) : reject(new Error(`receiver exited ${code}: ${err}`)),
    );
  });
  done.catch(() => undefined); // a stopped receiver: only a caller waiting for it cares
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('exit', () => reject(new Error(`receiver failed: ${err}`)));
  });
  return { messages, done, stop: () => child.kill() };
}
