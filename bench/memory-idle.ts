// Idle RSS of a daemon as systemd runs it: sampled after it settles, with $NOTIFY_SOCKET bound by a real AF_UNIX
// datagram listener (python3, as the manager binds it) so READY=1 and the watchdog take their production path.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { procStatusKiB, sleep, stats } from './lib.js';

export const SETTLE_MS = 2000;

/** RSS of a process `SETTLE_MS` after it said "serving": 5 samples, 250 ms apart. */
export async function sampleIdleRss(pid: number): Promise<ReturnType<typeof stats>> {
  await sleep(SETTLE_MS);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(procStatusKiB(pid, 'VmRSS'));
    await sleep(250);
  }
  return stats(samples);
}

const LISTENER = String.raw`
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print('ready', flush=True)
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = next(struct.unpack('iII', d)[0] for level, kind, d in anc if kind == socket.SCM_CREDENTIALS)
    print(json.dumps({'data': data.decode(), 'pid': pid}), flush=True)
`;

export interface NotifyListener {
  path: string;
  /** The datagrams received so far, with the sender's pid. */
  messages(): { data: string; pid: number }[];
  stop(): void;
}

/** Binds a notify socket in `dir` and records what arrives on it. */
export async function startNotifyListener(dir: string): Promise<NotifyListener> {
  const path = join(dir, 'notify');
  const child = spawn('python3', ['-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`notify listener exited ${code}`)));
  });
  return {
    path,
    messages: () =>
      out
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { data: string; pid: number }),
    stop: () => child.kill(),
  };
}

/** A process's resident memory split as smaps_rollup splits it, in KiB: anonymous, and file-backed pages. */
export function readSmaps(pid: number): { anonymous: number; file: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { anonymous: field('Anonymous'), file: field('Rss') - field('Anonymous') };
}
