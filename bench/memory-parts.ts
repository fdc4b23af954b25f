// "What each part costs": every bundle under <bench dir>/parts/ (bench/parts/*.ts, built by bench/bundle.mjs
// with the daemon bundle's own esbuild options) is loaded in a fresh node, started with the daemon's V8 flags;
// the child reports how long the require (and any start-up promise it sets) took and its VmRSS once settled.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DAEMON_NODE_OPTIONS } from '../test/helpers/daemon.js';
import { stats } from './lib.js';

/** One part's figures: medians over the runs. */
export interface PartCost {
  name: string;
  rssKiB: number;
  loadMs: number;
}

const SETTLE_MS = 500;

// The child: time the require (and `globalThis.ready`), wait, print {rss KiB, ms}.
const CHILD = `
const t0 = performance.now();
require(process.argv[1]);
Promise.resolve(globalThis.ready).then(() => {
  const ms = performance.now() - t0;
  setTimeout(() => {
    const rss = Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
    process.stdout.write(JSON.stringify({ rss, ms }));
    process.exit(0);
  }, ${SETTLE_MS});
});
`;

function runPart(file: string): Promise<{ rss: number; ms: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', CHILD, file],
      { env: { ...process.env, NODE_OPTIONS: DAEMON_NODE_OPTIONS }, timeout: 30_000 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as { rss: number; ms: number })),
    );
  });
}

/** Measures every built part, `reps` times each, interleaved (so a burst of load hits all parts alike). */
export async function measureParts(benchDir: string, reps: number): Promise<PartCost[]> {
  const dir = join(benchDir, 'parts');
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.cjs'))
    .map((f) => f.slice(0, -4));
  const samples = new Map(names.map((n) => [n, [] as { rss: number; ms: number }[]]));
  for (let r = 0; r < reps; r++)
    for (const n of names) samples.get(n)!.push(await runPart(join(dir, `${n}.cjs`)));
  return names.map((name) => {
    const s = samples.get(name)!;
    return { name, rssKiB: stats(s.map((x) => x.rss)).median, loadMs: stats(s.map((x) => x.ms)).median };
  });
}
