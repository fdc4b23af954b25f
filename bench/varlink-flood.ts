// Varlink under a neighbour's flood (issue 21, item 2): Exists latency over Varlink for root and for another
// unprivileged user, each in its own process, first with the daemon idle, then while nobody floods: as many
// connections as it can open (its share is 16), each pipelining Exists calls back to back, plus 1 MiB
// messages nested 200,000 deep and connections churned past its share. Target: each probe's p99 under the
// flood within 50 ms of its p99 idle.

import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../test/helpers/tmp.js';
import { fmtMs, main, note, percentile, table, withStack } from './lib.js';
import { recordTarget } from './targets.js';

const N = Number(process.env.BENCH_FLOOD_N ?? 1000);
const GAP_MS = 5;
const TARGET_MS = 50;

/** One probe: N Exists calls on one connection, GAP_MS apart; prints the latencies (ms) as JSON. */
const PROBE = `
const net = require('node:net');
const [path, n, gap] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const c = net.connect(path);
let buf = '', resolve;
c.on('data', (d) => { buf += d; const i = buf.indexOf('\\0'); if (i >= 0) { const m = buf.slice(0, i); buf = buf.slice(i + 1); resolve(m); } });
const call = () => new Promise((r) => { resolve = r; c.write(JSON.stringify({ method: 'org.bootc.Storage.Exists', parameters: { image: 'quay.io/x/y:1' } }) + '\\0'); });
c.on('connect', async () => {
  const out = [];
  for (let i = 0; i < 20; i++) await call();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const reply = await call();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!reply.includes('present')) throw new Error('unexpected reply ' + reply);
    await new Promise((r) => setTimeout(r, gap));
  }
  console.log(JSON.stringify(out));
  c.end();
});
`;

/**
 * The flood: 15 connections pipelining Exists (within nobody's share of 16), and every 50 ms a
 * new connection, taking the share's last place, sending a 1 MiB message nested 200,000 deep.
 */
const FLOOD = `
const net = require('node:net');
const path = process.argv[1];
const exists = JSON.stringify({ method: 'org.bootc.Storage.Exists', parameters: { image: 'quay.io/x/y:1' } }) + '\\0';
const burst = exists.repeat(200);
let answered = 0, refused = 0, nested = 0;
for (let i = 0; i < 15; i++) {
  const c = net.connect(path);
  c.on('error', () => {});
  c.on('data', (d) => {
    const s = d.toString();
    answered += s.split('present').length - 1;
    if (s.includes('Busy')) refused++;
    if (c.writableLength < 65536) c.write(burst);
  });
  c.on('connect', () => c.write(burst));
}
const deep = '{"method":"org.bootc.Storage.Remove","parameters":{"images":' + '['.repeat(200000) + ']'.repeat(200000) + '}}\\0';
// After the pipelining connections took their places: each nested message gets the share's last one.
setTimeout(() => setInterval(() => {
  const c = net.connect(path);
  c.on('error', () => {});
  c.on('data', (d) => { if (d.toString().includes('InvalidParameter')) nested++; if (d.toString().includes('Busy')) refused++; });
  c.on('connect', () => c.write(deep));
}, 50), 300);
process.on('SIGTERM', () => { console.log(JSON.stringify({ answered, refused, nested })); process.exit(0); });
`;

function run(script: string, args: string[], uid: number): { done: Promise<string>; stop(): void } {
  const child = spawn(process.execPath, ['-e', script, ...args], {
    uid,
    gid: uid,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on('exit', (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`exit ${code ?? signal}: ${out}`)),
    );
  });
  return { done, stop: () => child.kill('SIGTERM') };
}

const probes = (socket: string) =>
  Promise.all(
    [0, 65533].map(
      async (uid) => JSON.parse(await run(PROBE, [socket, `${N}`, `${GAP_MS}`], uid).done) as number[],
    ),
  );

const dir = makeTempDir('bsd-bench-flood-');
chmodSync(dir.path, 0o755);
const socket = join(dir.path, 'org.bootc.Storage');

main(() =>
  withStack(
    async () => {
      note(`idle: ${N} Exists per probe (root, uid 65533), ${GAP_MS} ms apart`);
      const idle = await probes(socket);
      note('the same while nobody floods');
      const flood = run(FLOOD, [socket], 65534);
      await new Promise((r) => setTimeout(r, 1000));
      const loaded = await probes(socket);
      flood.stop();
      const counts = JSON.parse(await flood.done) as { answered: number; refused: number; nested: number };

      console.log("## Varlink under a neighbour's flood\n");
      console.log(
        `Exists over Varlink, call to reply, from two probe processes (root, and uid 65533), ${N} calls each, ` +
          `${GAP_MS} ms apart, on one connection each. Flood: nobody opens 15 connections (its share is 16), ` +
          'pipelines Exists calls on each as fast as the daemon answers, and every 50 ms opens another ' +
          'connection to send a 1 MiB message nested 200,000 deep (one at a time fits in the share). During the flood the daemon ' +
          `answered nobody ${counts.answered} Exists, refused ${counts.nested} nested messages (InvalidParameter, ` +
          `before parsing) and ${counts.refused} connections past the share (Busy). ` +
          `Target: each probe's p99 under the flood within ${TARGET_MS} ms of its p99 idle.\n`,
      );
      const rows = ['root', 'uid 65533'].map((who, i) => {
        const [a, b] = [idle[i]!, loaded[i]!];
        const delta = percentile(b, 99) - percentile(a, 99);
        return [
          who,
          fmtMs(percentile(a, 50)),
          fmtMs(percentile(a, 99)),
          fmtMs(percentile(b, 50)),
          fmtMs(percentile(b, 99)),
          fmtMs(Math.max(...b)),
          fmtMs(delta),
          recordTarget({
            area: 'neighbour',
            measure: `Varlink Exists p99 under nobody's flood, ${who}`,
            value: `${delta >= 0 ? '+' : '−'}${fmtMs(Math.abs(delta))}`,
            target: `≤ +${TARGET_MS} ms`,
            met: delta <= TARGET_MS,
          }),
        ];
      });
      console.log(
        table(
          [
            'probe',
            'idle p50',
            'idle p99',
            'flood p50',
            'flood p99',
            'flood max',
            'p99 Δ',
            `target ≤ +${TARGET_MS} ms`,
          ],
          rows,
        ),
      );
      console.log('');
    },
    { daemonArgs: ['--varlink-socket', socket] },
  ).finally(() => dir.remove()),
);
