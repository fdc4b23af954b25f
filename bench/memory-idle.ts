// Idle RSS of a daemon as systemd runs it: sampled after it settles, with $NOTIFY_SOCKET bound by a real AF_UNIX
// datagram listener (python3, as the manager binds it) so READY=1 and the watchdog take their production path.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NotifyReceiver, startNotifyReceiver } from '../test/helpers/notify-receiver.js';
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

/** Binds a notify socket in `dir` (as systemd binds $NOTIFY_SOCKET) and records what arrives on it. */
export async function startNotifyListener(dir: string): Promise<NotifyReceiver & { path: string }> {
  const path = join(dir, 'notify');
  return { path, ...(await startNotifyReceiver(path)) };
}

/** A process's resident memory split as smaps_rollup splits it, in KiB: anonymous, and file-backed pages. */
export function readSmaps(pid: number): { anonymous: number; file: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { anonymous: field('Anonymous'), file: field('Rss') - field('Anonymous') };
}
