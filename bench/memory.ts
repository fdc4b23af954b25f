// The daemon's memory and start-up: RSS idle right after start, RSS across 10,000 mixed reads from a warm client
// (a leak check), and cold start — spawning the daemon until the first successful Exists reply.

import { spawn } from 'node:child_process';
import { startDaemon } from '../test/helpers/daemon.js';
import {
  call,
  fmtMiB,
  fmtMs,
  fmtStats,
  logTime,
  main,
  note,
  nowMs,
  procStatusKiB,
  sleep,
  stats,
  table,
  withStack,
} from './lib.js';

const CALLS = Number(process.env.BENCH_MEMORY_CALLS ?? 10_000);
const COLD_REPS = Number(process.env.BENCH_MEMORY_COLD_REPS ?? 7);
const SETTLE_MS = 2000;
const PAUSE_MS = 5000;
const WARMUP_CALLS = 1000;
/** MB read as MiB (as /proc's "kB" are KiB); the figures are printed in both units. */
const TARGET_IDLE_MIB = 60;
/**
 * Leak verdict: growth from the first quarter of the calls to after the pause. The first few thousand calls
 * grow V8's young generation to its maximum (a one-time step of up to ~16 MiB, reported separately); a leak
 * keeps growing after that. 1 MiB over 7,500 calls is ~140 bytes per call.
 */
const NOISE_MIB = 1;

const mb = (kib: number) => `${((kib * 1024) / 1e6).toFixed(1)} MB`;

/** RSS of a bare `node` that only waits: the floor any Node daemon starts from. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
  try {
    await sleep(SETTLE_MS);
    return procStatusKiB(child.pid!, 'VmRSS');
  } finally {
    child.kill();
  }
}

main(() =>
  withStack(async (s) => {
    const pid = s.daemon.proc.pid!;
    const rss = () => procStatusKiB(pid, 'VmRSS');

    // 1. Idle right after start: the stack waited for the daemon's "serving" line; let it settle.
    note(`idle RSS: ${SETTLE_MS} ms after start, then 5 samples 250 ms apart`);
    await sleep(SETTLE_MS);
    const idleSamples: number[] = [];
    for (let i = 0; i < 5; i++) {
      idleSamples.push(rss());
      await sleep(250);
    }
    const idle = stats(idleSamples);
    const bare = await bareNodeRss();

    // 2. 10,000 mixed reads from one warm client, RSS sampled along the way.
    const ref = `${s.registry.host}/bench/memory:v1`;
    await s.builder.buildAndPush(ref, { bytes: 64 });
    await call(s.client, 'Pull', 'ss', [ref, 'missing']);
    const absent = `${s.registry.host}/bench/memory:absent`;
    const mixed = async (i: number) => {
      switch (i % 4) {
        case 0:
          return call(s.client, 'Exists', 's', [ref]);
        case 1:
          return call(s.client, 'List');
        case 2:
          return call(s.client, 'ListJobs');
        default:
          return call(s.client, 'Exists', 's', [absent]);
      }
    };
    note(`warm-up: ${WARMUP_CALLS} calls`);
    for (let i = 0; i < WARMUP_CALLS; i++) await mixed(i);
    await sleep(1000);
    const points: { label: string; kib: number }[] = [
      { label: `after a ${WARMUP_CALLS.toLocaleString('en-US')}-call warm-up (baseline)`, kib: rss() },
    ];
    note(`${CALLS} calls`);
    const t0 = nowMs();
    for (let i = 0; i < CALLS; i++) {
      await mixed(i);
      if ((i + 1) % (CALLS / 4) === 0)
        points.push({ label: `after ${(i + 1).toLocaleString('en-US')} calls`, kib: rss() });
    }
    const callsMs = nowMs() - t0;
    await sleep(PAUSE_MS);
    points.push({ label: `after a ${PAUSE_MS / 1000} s pause`, kib: rss() });
    const hwm = procStatusKiB(pid, 'VmHWM');
    const growth = points.at(-1)!.kib - points[0]!.kib;
    // From the first quarter mark (points[1]) to after the pause: the leak verdict.
    const lateGrowth = points.at(-1)!.kib - points[1]!.kib;

    // 3. Cold start: the stack's daemon is stopped; each run spawns a fresh one and polls Exists every 5 ms
    // from the warm client until it answers (before the name is owned the bus says ServiceUnknown).
    note(`cold start: ${COLD_REPS} runs`);
    await s.daemon.stop();
    const toReply: number[] = [];
    const toServing: number[] = [];
    const firstRss: number[] = [];
    for (let i = 0; i < COLD_REPS; i++) {
      const wall0 = Date.now();
      const c0 = nowMs();
      const d = await startDaemon({
        busAddress: s.bus.address,
        sysroot: s.sandbox.sysroot,
        run: s.sandbox.run,
        env: s.sandbox.env,
        waitForName: false,
      });
      try {
        for (;;) {
          if (d.proc.exitCode !== null)
            throw new Error(`the daemon exited ${d.proc.exitCode}: ${d.output()}`);
          if (nowMs() - c0 > 60_000) throw new Error('no reply within 60 s');
          const ok = await call(s.client, 'Exists', 's', [ref]).then(
            (b) => b[0] === true,
            () => false,
          );
          if (ok) break;
          await sleep(5);
        }
        toReply.push(nowMs() - c0);
        firstRss.push(procStatusKiB(d.proc.pid!, 'VmRSS'));
        const servingAt = logTime(d.output(), 'serving');
        if (servingAt !== undefined) toServing.push(servingAt - wall0);
      } finally {
        await d.stop();
      }
    }

    const idleMet = idle.median / 1024 <= TARGET_IDLE_MIB;
    const leakMet = lateGrowth / 1024 <= NOISE_MIB;
    const signedMiB = (kib: number) => `${kib >= 0 ? '+' : ''}${fmtMiB(kib)}`;
    console.log('## Memory and start-up\n');
    console.log(
      "Daemon RSS is `VmRSS` from `/proc/<pid>/status` of the daemon's node process (the esbuild bundle, " +
        'started by the test harness with debug logging). Idle: sampled 5 times, 250 ms apart, ' +
        `${SETTLE_MS / 1000} s after the daemon reported "serving", before any call. Leak check: one warm ` +
        `dbus-next client makes ${CALLS.toLocaleString('en-US')} calls one after another, cycling Exists (present ` +
        `image), List, ListJobs and Exists (absent image), on a store of one image; RSS after a ` +
        `${WARMUP_CALLS.toLocaleString('en-US')}-call warm-up, every ${(CALLS / 4).toLocaleString('en-US')} calls, ` +
        `and after a ${PAUSE_MS / 1000} s pause (time for V8 to collect; nothing can force a collection in the ` +
        'daemon from outside). ' +
        `Targets: idle RSS ≤ ${TARGET_IDLE_MIB} MB (read as MiB, the more lenient reading); no growth over the ` +
        `calls beyond noise, judged from the ${(CALLS / 4).toLocaleString('en-US')}-call mark to after the pause ` +
        `(≤ ${NOISE_MIB} MiB): the first few thousand calls grow V8's young generation to its maximum size once ` +
        '(a step of up to ~16 MiB), a leak keeps growing after that; the whole growth from the baseline is ' +
        'given too.\n',
    );
    console.log(
      table(
        ['measure', 'value', 'target', 'met?'],
        [
          [
            'idle RSS right after start',
            `${fmtMiB(idle.median)} = ${mb(idle.median)} (${fmtMiB(idle.min)}–${fmtMiB(idle.max)})`,
            `≤ ${TARGET_IDLE_MIB} MiB`,
            idleMet ? 'met' : 'MISSED',
          ],
          ['reference: a bare idle `node -e setTimeout(…)`', `${fmtMiB(bare)} = ${mb(bare)}`, '—', '—'],
          [
            `RSS growth, ${points[1]!.label} → after the pause`,
            signedMiB(lateGrowth),
            `≤ ${NOISE_MIB} MiB (noise)`,
            leakMet ? 'met' : 'MISSED',
          ],
          [
            `RSS growth over all ${CALLS.toLocaleString('en-US')} calls (+ pause), from the baseline`,
            signedMiB(growth),
            '— (includes the one-time heap growth)',
            '—',
          ],
          ['peak RSS (VmHWM) by then', fmtMiB(hwm), '—', '—'],
          [
            `call rate over the ${CALLS.toLocaleString('en-US')} calls`,
            `${((CALLS / callsMs) * 1000).toFixed(0)} calls/s (${fmtMs(callsMs / CALLS)} each)`,
            '—',
            '—',
          ],
        ],
      ),
    );
    console.log('');
    console.log(
      table(
        ['RSS sample', 'RSS', 'vs baseline'],
        points.map((p) => {
          const d = p.kib - points[0]!.kib;
          return [p.label, fmtMiB(p.kib), signedMiB(d)];
        }),
      ),
    );
    console.log(
      `\nCold start, ${COLD_REPS} runs: the daemon spawned (node + bundle, on the store created by the first ` +
        "start, so no store initialization) with the stack's daemon stopped; a warm client polls `Exists` " +
        'every 5 ms from the spawn until the first successful reply (before the daemon owns its name the bus ' +
        "answers ServiceUnknown at once). The first reply includes the daemon's initial `podman image list` and " +
        'the polkit check for the new daemon\'s first caller. "serving" is the time of the daemon\'s own ' +
        'log line (ms resolution, wall clock). Target: none set.\n',
    );
    console.log(
      table(
        ['measure', `median (min–max), N=${COLD_REPS}`],
        [
          ['spawn → "serving" log line', toServing.length > 0 ? fmtStats(stats(toServing)) : '—'],
          ['spawn → first successful Exists reply', fmtStats(stats(toReply))],
          [
            'RSS at the first reply',
            (() => {
              const r = stats(firstRss);
              return `${fmtMiB(r.median)} (${fmtMiB(r.min)}–${fmtMiB(r.max)})`;
            })(),
          ],
        ],
      ),
    );
    console.log('');
  }),
);
