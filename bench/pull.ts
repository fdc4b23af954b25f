// Pull through the daemon (Pull policy `always`) vs raw `podman image pull` in the daemon's own namespace
// invocation, into the same store with the image removed before every run, for a ~1 MB and a ~200 MB image,
// with the daemon in both of its modes: progress totals on (the default: a `skopeo inspect --raw` at nice 19
// beside the pull asks the registry for the total size) and `--no-progress-totals`. Then pulls the daemon
// answers from its view (a `missing` pull of a present image, a pull by a digest the store has) against raw
// `podman image exists`, the cheapest podman call that could answer them.

import { execFileSync } from 'node:child_process';
import type { Stack } from '../test/helpers/stack.js';
import {
  call,
  fmtRatio,
  fmtStats,
  DAEMON_MODES as MODES,
  type DaemonMode as Mode,
  main,
  medianCI,
  note,
  podmanRuns,
  RawPodman,
  type Stats,
  stats,
  table,
  timed,
  waitForLog,
  withStack,
} from './lib.js';
import { recordTarget } from './targets.js';

const MiB = 1024 * 1024;
const TARGET_OVERHEAD = 3; // % on the large image
const TARGET_SMALL_RATIO = 1; // daemon / raw on the small image: at most raw podman's time
const TARGET_PRESENT_SPEEDUP = 10; // raw `podman image exists` / daemon, for pulls the view answers
const PRESENT_N = Number(process.env.BENCH_PULL_PRESENT_N ?? 50);
const PRESENT_RAW_N = Number(process.env.BENCH_PULL_PRESENT_RAW_N ?? 15);

/** met / MISSED on the paired median, qualified when the confidence interval straddles the target. */
function verdict(median: number, [lo, hi]: [number, number]): string {
  if (median <= TARGET_OVERHEAD) return hi <= TARGET_OVERHEAD ? 'met' : 'met (within noise)';
  return lo > TARGET_OVERHEAD ? 'MISSED' : 'MISSED (within noise)';
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

interface Case {
  label: string;
  bytes: number;
  reps: number;
}

const CASES: Case[] = [
  { label: '~1 MB', bytes: 1 * MiB, reps: Number(process.env.BENCH_PULL_REPS_SMALL ?? 13) },
  { label: '~200 MB', bytes: 200 * MiB, reps: Number(process.env.BENCH_PULL_REPS_LARGE ?? 10) },
];

interface Result {
  c: Case;
  mode: Mode;
  daemon: Stats;
  raw: Stats;
  /** Per repetition, (daemon − raw) / raw in %: the two runs of one repetition are back to back. */
  paired: Stats;
  /** ~95 % confidence interval of the paired median. */
  ci: [number, number];
  phases: Phases[];
}

/** Where a daemon pull's time went, read from the daemon's own (debug) log timestamps (ms resolution). */
interface Phases {
  /** Job queued → the pull process started (staging directory, argv, auth fd). */
  setup: number;
  /** The pull process started → job finished: the pull, the wait for the size answer, cleanup. */
  pull: number;
  /** Everything outside the job: D-Bus round trip, polkit, caller lookup, reply. */
  call: number;
}

interface PresentCase {
  label: string;
  daemon: Stats;
  raw: Stats;
  /** Processes the daemon started during these calls (its `running podman` debug lines): 0 when the view answered. */
  processes: number;
}

/**
 * Pulls the view answers, once `ref` is in the store: `missing` by tag and `always` by digest through the
 * daemon (call to reply), against raw `podman image exists` of the same reference, the daemon's way.
 */
async function measurePresent(s: Stack, raw: RawPodman, ref: string): Promise<PresentCase[]> {
  await call(s.client, 'Pull', 'ss', [ref, 'missing']);
  const [images] = (await call(s.client, 'List')) as [[string, string[], string][]];
  const digest = images.find(([, names]) => names.includes(ref))?.[2];
  if (!digest) throw new Error(`${ref} is not listed after its pull`);
  const byDigest = `${ref.replace(/:[^:/]+$/, '')}@${digest}`;
  await call(s.client, 'Exists', 's', [ref]); // the view is current from here on
  const cases: PresentCase[] = [];
  for (const [label, target, policy] of [
    ['`missing` pull of a present tag', ref, 'missing'],
    ['`always` pull of a present digest', byDigest, 'always'],
  ] as const) {
    note(`present image: ${label}`);
    const once = async () => {
      const { ms, value } = await timed(() => call(s.client, 'Pull', 'ss', [target, policy]));
      if (value[0] !== false) throw new Error(`Pull(${target}, ${policy}) answered ${String(value[0])}`);
      return ms;
    };
    for (let i = 0; i < 5; i++) await once(); // warm-up
    const from = s.daemon.output().length;
    const d: number[] = [];
    for (let i = 0; i < PRESENT_N; i++) d.push(await once());
    const processes = podmanRuns(s.daemon.output().slice(from)).length;
    await raw.ok(['image', 'exists', '--', target]); // warm-up
    const r: number[] = [];
    for (let i = 0; i < PRESENT_RAW_N; i++) r.push((await raw.ok(['image', 'exists', '--', target])).ms);
    cases.push({ label, daemon: stats(d), raw: stats(r), processes });
  }
  return cases;
}

function parsePhases(log: string, callMs: number): Phases | undefined {
  let queued: number | undefined;
  let pullAt: number | undefined;
  let done: number | undefined;
  for (const line of log.split('\n')) {
    let e: { time?: number; msg?: string; args?: string[] };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (e.time === undefined) continue;
    if (e.msg === 'job queued') queued ??= e.time;
    // `podman image pull`, or `skopeo copy` where the daemon pulls with skopeo (src/storage/copy-pull.ts)
    else if (e.msg === 'running podman' && (e.args?.includes('pull') || e.args?.includes('copy')))
      pullAt ??= e.time;
    else if (e.msg === 'job finished') done ??= e.time;
  }
  if (queued === undefined || pullAt === undefined || done === undefined) return;
  return { setup: pullAt - queued, pull: done - pullAt, call: callMs - (done - queued) };
}

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const results: Result[] = [];
    let present: PresentCase[] = [];
    let copier = 'podman image pull';
    try {
      const refs = new Map<Case, string>();
      for (const c of CASES) {
        const ref = `${s.registry.host}/bench/pull-${c.bytes}:v1`;
        note(`${c.label}: build (random single layer, FROM scratch + COPY) and push`);
        await s.builder.buildAndPush(ref, { bytes: c.bytes });
        refs.set(c, ref);
      }
      // With the daemon in its default mode (what it does not depend on the mode: no pull runs at all).
      present = await measurePresent(s, raw, refs.get(CASES[0]!)!);

      for (const [m, mode] of MODES.entries()) {
        // The stack starts the daemon with no options; the other modes restart it (same bus, store, client).
        if (m > 0 || mode.args.length > 0) {
          note(`restarting the daemon with [${mode.args.join(' ')}]`);
          await s.restartDaemon(mode.args);
        }
        for (const c of CASES) {
          const ref = refs.get(c)!;
          const tag = `${mode.args.length > 0 ? 'no totals' : 'totals'}, ${c.label}`;
          // The same starting point for every run: the image absent from the store, nothing dirty in the page
          // cache. Removal goes through raw podman; the daemon notices it through the store's change token.
          const prepare = async () => {
            const exists = await raw.run(['image', 'exists', '--', ref]);
            if (exists.exitCode === 0) await raw.ok(['image', 'rm', '--', ref]);
            execFileSync('sync');
          };
          const phases: Phases[] = [];
          const daemonRun = async () => {
            await prepare();
            const logFrom = s.daemon.output().length;
            const { ms, value } = await timed(() => call(s.client, 'Pull', 'ss', [ref, 'always']));
            if (value[0] !== true) throw new Error(`Pull(${ref}, always) answered ${String(value[0])}`);
            // The daemon logs the job's end as it replies: give its stdout a moment to arrive (untimed).
            await waitForLog(s.daemon, '"msg":"job finished"', logFrom);
            const out = s.daemon.output().slice(logFrom);
            // pino writes the fields before msg: find the `pulling image` line, then its copier field
            const line = out.split('\n').find((l) => l.includes('"msg":"pulling image"')) ?? '';
            const started = /"copier":"([^"]*)"/.exec(line)?.[1];
            if (started) copier = started.endsWith('skopeo') ? 'skopeo copy' : 'podman image pull';
            const p = parsePhases(out, ms);
            if (p) phases.push(p);
            return ms;
          };
          const rawRun = async () => {
            await prepare();
            return (await raw.ok(['image', 'pull', '--', ref])).ms;
          };

          // One untimed pull each way first (registry blobs into the page cache, podman's binaries warm, the
          // polkit answer for this client cached in a freshly started daemon).
          note(`${tag}: warm-up`);
          await daemonRun();
          await rawRun();
          phases.length = 0;
          const d: number[] = [];
          const r: number[] = [];
          for (let i = 0; i < c.reps; i++) {
            note(`${tag}: repetition ${i + 1}/${c.reps}`);
            // Alternate which goes first, so drift (page cache, writeback) does not favour one side.
            if (i % 2 === 0) {
              d.push(await daemonRun());
              r.push(await rawRun());
            } else {
              r.push(await rawRun());
              d.push(await daemonRun());
            }
          }
          note(
            `${tag}: daemon ${d.map((x) => x.toFixed(0)).join(' ')} ms; raw ${r.map((x) => x.toFixed(0)).join(' ')} ms`,
          );
          const pairs = d.map((x, i) => ((x - r[i]!) / r[i]!) * 100);
          results.push({
            c,
            mode,
            daemon: stats(d),
            raw: stats(r),
            paired: stats(pairs),
            ci: medianCI(pairs),
            phases: [...phases],
          });
          await prepare(); // leave the store empty for the next case
        }
      }
    } finally {
      raw.close();
    }

    console.log('## Pull: through the daemon vs raw podman, with and without progress totals\n');
    console.log(
      'Median (min–max) wall time of one pull of a single-layer image of random bytes (built with podman from ' +
        '`FROM scratch` + `COPY`, pushed to the local registry on 127.0.0.1, so gzip-compressed). Daemon: ' +
        '`Pull(ref, "always")` from a warm dbus-next client, call to reply, in two modes: the default, where ' +
        'the daemon runs `skopeo inspect --raw` (at nice 19) beside the pull to learn the total size for ' +
        'progress, and `--no-progress-totals`, where it does not (progress then counts layers and staged bytes ' +
        `only). The daemon pulled with \`${copier}\` (src/storage/copy-pull.ts: \`skopeo copy\` into the store ` +
        "where it is the same pull as podman's, which skips podman's start-up). Raw: `podman image pull -- ref` " +
        "in the daemon's namespace invocation, spawn to exit. Same store for both; the image is removed (and " +
        '`sync` run) before every run, runs alternate daemon-first / raw-first, after one untimed warm-up each; ' +
        'each mode has its own raw runs, measured in the same block as its daemon runs. Overhead, paired: the ' +
        'median (min to max) over repetitions of (daemon − raw) / raw, the two runs of a repetition being back ' +
        'to back, which cancels slow drift of the machine (other load, writeback); the overheads of the medians ' +
        'and of the minimums are given too. The interval after the paired median is its ~95 % confidence ' +
        'interval (order statistics, no assumption about the distribution). Targets: on ~1 MB, at most raw ' +
        `podman's time (daemon / raw ≤ ${TARGET_SMALL_RATIO.toFixed(2)}, the ratio of the medians, default mode); on ~200 MB, ≤ ${TARGET_OVERHEAD} % overhead ` +
        'on the paired median, in each mode; "within noise" when the confidence interval straddles the target.\n',
    );
    console.log(
      table(
        [
          'image',
          'daemon mode',
          'runs',
          'daemon Pull',
          'raw podman pull',
          'daemon / raw',
          'overhead, paired: median [95 % CI] (min to max)',
          'overhead of medians',
          'overhead of minimums',
          'target',
        ],
        [...results]
          .sort((a, b) => a.c.bytes - b.c.bytes)
          .map(({ c, mode, daemon, raw: r, paired, ci }) => {
            const over = ((daemon.median - r.median) / r.median) * 100;
            const overMin = ((daemon.min - r.min) / r.min) * 100;
            const ratio = daemon.median / r.median;
            const pct = (x: number, ms: number) =>
              `${signed(x)} % (${ms >= 0 ? '+' : ''}${ms.toFixed(0)} ms)`;
            let target = '— (reference)';
            if (c.bytes >= 100 * MiB) {
              const v = verdict(paired.median, ci);
              target = `≤ ${TARGET_OVERHEAD} % (paired): ${recordTarget({
                area: 'writes',
                measure: `pull ${c.label}, ${mode.label}: overhead vs raw podman (paired median)`,
                value: `${signed(paired.median)} %`,
                target: `≤ ${TARGET_OVERHEAD} %`,
                met: v.startsWith('met'),
                remark: v.includes('within noise') ? 'within noise' : undefined,
              })}`;
            } else if (mode.args.length === 0) {
              target = `≤ raw podman (ratio ≤ ${TARGET_SMALL_RATIO.toFixed(2)}): ${recordTarget({
                area: 'writes',
                measure: `pull ${c.label}: daemon / raw podman`,
                value: `${ratio.toFixed(3)}×`,
                target: `≤ raw podman (ratio ≤ ${TARGET_SMALL_RATIO.toFixed(2)})`,
                met: ratio <= TARGET_SMALL_RATIO,
              })}`;
            }
            return [
              c.label,
              mode.label,
              `${c.reps} + ${c.reps}`,
              fmtStats(daemon),
              fmtStats(r),
              `${ratio.toFixed(3)}×`,
              `${signed(paired.median)} % [${signed(ci[0])}, ${signed(ci[1])}] (${signed(paired.min)} to ${signed(paired.max)} %)`,
              pct(over, daemon.median - r.median),
              pct(overMin, daemon.min - r.min),
              target,
            ];
          }),
      ),
    );
    console.log(
      "\nWhere the daemon's time went, per run, from the daemon's debug-log timestamps (ms resolution): job " +
        `setup (queued until \`${copier}\` starts: the view lookup, the staging directory, argv, the auth fd), ` +
        'the pull process start to the end of the job (the pull, then, with totals on, waiting for the ' +
        'concurrent `skopeo inspect` if it has not answered yet, and removing the staging directory), and the ' +
        'rest (D-Bus round trip, polkit check, caller lookup, reply). The view refresh (`podman image list`) ' +
        'starts as the job ends and is not waited for. Raw podman pull repeated for comparison.\n',
    );
    console.log(
      table(
        [
          'image',
          'daemon mode',
          'job setup',
          'pull process → job end',
          'D-Bus + polkit + reply',
          'raw podman pull',
        ],
        results
          .filter((x) => x.phases.length > 0)
          .sort((a, b) => a.c.bytes - b.c.bytes)
          .map(({ c, mode, phases, raw: r }) => [
            c.label,
            mode.label,
            fmtStats(stats(phases.map((p) => p.setup))),
            fmtStats(stats(phases.map((p) => p.pull))),
            fmtStats(stats(phases.map((p) => p.call))),
            fmtStats(r),
          ]),
      ),
    );
    console.log(
      "\nThe daemon's pull is the pull process plus: the D-Bus round trip and polkit check, polling the staging " +
        'directory for bytes done every 250 ms, and with totals on a concurrent `skopeo inspect --raw` (one ' +
        'more process and manifest GET; a finished pull waits up to 2 s for its answer so the final figures ' +
        'are exact).\n',
    );

    console.log('## Pulls the daemon answers from its view vs raw `podman image exists`\n');
    console.log(
      `The ~1 MB image in the store. Daemon: \`Pull\` from a warm dbus-next client, call to reply, N=${PRESENT_N} ` +
        'after 5 warm-up calls: a `missing` pull by tag, and an `always` pull by the digest the store has (a ' +
        "digest is immutable content). Both are answered from the exact image view (the store's change token " +
        'unchanged since the view was read, and the job runs in queue order): no process, no registry, no ' +
        `staging directory, no re-list. Raw: \`podman image exists -- ref\` the daemon's way, N=${PRESENT_RAW_N}, ` +
        'the cheapest podman call that could answer them. "processes" counts the daemon\'s `running podman` ' +
        `debug lines during the timed calls. Target: ≥ ${TARGET_PRESENT_SPEEDUP}× faster than raw (raw / daemon, medians).\n`,
    );
    console.log(
      table(
        [
          'pull',
          'daemon: call to reply',
          'raw `podman image exists`',
          'raw / daemon',
          'processes run by the daemon',
          `target ≥ ${TARGET_PRESENT_SPEEDUP}× faster`,
        ],
        present.map((p) => {
          const speedup = p.raw.median / p.daemon.median;
          return [
            p.label,
            fmtStats(p.daemon),
            fmtStats(p.raw),
            fmtRatio(speedup),
            String(p.processes),
            recordTarget({
              area: 'writes',
              measure: `${p.label} vs raw podman image exists`,
              value: `${fmtRatio(speedup)} faster`,
              target: `≥ ${TARGET_PRESENT_SPEEDUP}× faster`,
              met: speedup >= TARGET_PRESENT_SPEEDUP && p.processes === 0,
            }),
          ];
        }),
      ),
    );
    console.log();
  }),
);
