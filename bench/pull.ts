// Pull through the daemon (Pull policy `always`) vs raw `podman image pull` in the daemon's own namespace
// invocation, into the same store with the image removed before every run, for a ~1 MB and a ~200 MB image,
// with the daemon in both of its modes: progress totals on (the default: a `skopeo inspect --raw` at nice 19
// beside podman asks the registry for the total size) and `--no-progress-totals`.

import { execFileSync } from 'node:child_process';
import {
  call,
  fmtStats,
  DAEMON_MODES as MODES,
  type DaemonMode as Mode,
  main,
  medianCI,
  note,
  RawPodman,
  type Stats,
  stats,
  table,
  timed,
  waitForLog,
  withStack,
} from './lib.js';

const MiB = 1024 * 1024;
const TARGET_OVERHEAD = 3; // % on the large image

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
  { label: '~1 MB', bytes: 1 * MiB, reps: Number(process.env.BENCH_PULL_REPS_SMALL ?? 15) },
  { label: '~200 MB', bytes: 200 * MiB, reps: Number(process.env.BENCH_PULL_REPS_LARGE ?? 15) },
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
  /** Job queued → `podman image pull` started (staging directory, argv, auth fd). */
  setup: number;
  /** `podman image pull` started → job finished: the pull, the wait for skopeo's size answer, cleanup. */
  pull: number;
  /** Everything outside the job: D-Bus round trip, polkit, caller lookup, reply. */
  call: number;
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
    else if (e.msg === 'running podman' && e.args?.includes('pull')) pullAt ??= e.time;
    else if (e.msg === 'job finished') done ??= e.time;
  }
  if (queued === undefined || pullAt === undefined || done === undefined) return;
  return { setup: pullAt - queued, pull: done - pullAt, call: callMs - (done - queued) };
}

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const results: Result[] = [];
    try {
      const refs = new Map<Case, string>();
      for (const c of CASES) {
        const ref = `${s.registry.host}/bench/pull-${c.bytes}:v1`;
        note(`${c.label}: build (random single layer, FROM scratch + COPY) and push`);
        await s.builder.buildAndPush(ref, { bytes: c.bytes });
        refs.set(c, ref);
      }

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
            const p = parsePhases(s.daemon.output().slice(logFrom), ms);
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
        'the daemon runs `skopeo inspect --raw` (at nice 19) beside podman to learn the total size for progress, ' +
        'and `--no-progress-totals`, where it does not (progress then counts layers and staged bytes only). ' +
        "Raw: `podman image pull -- ref` in the daemon's namespace invocation, spawn to exit. Same store for " +
        'both; the image is removed (and `sync` run) before every run, runs alternate daemon-first / raw-first, ' +
        'after one untimed warm-up each; each mode has its own raw runs, measured in the same block as its ' +
        'daemon runs. Overhead, paired: the median (min to max) over repetitions of (daemon − raw) / raw, the ' +
        'two runs of a repetition being back to back, which cancels slow drift of the machine (other load, ' +
        'writeback); the overheads of the medians and of the minimums are given too. ' +
        'The interval after the paired median is its ~95 % confidence interval (order statistics, no ' +
        'assumption about the distribution): it says how far run-to-run noise lets these runs pin the ' +
        `overhead down. Target: ≤ ${TARGET_OVERHEAD} % overhead on ~200 MB, judged on the paired median, in ` +
        'each mode; "within noise" when the confidence interval straddles the target.\n',
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
          `target ≤ ${TARGET_OVERHEAD} % (paired)`,
        ],
        [...results]
          .sort((a, b) => a.c.bytes - b.c.bytes)
          .map(({ c, mode, daemon, raw: r, paired, ci }) => {
            const over = ((daemon.median - r.median) / r.median) * 100;
            const overMin = ((daemon.min - r.min) / r.min) * 100;
            const pct = (x: number, ms: number) =>
              `${signed(x)} % (${ms >= 0 ? '+' : ''}${ms.toFixed(0)} ms)`;
            return [
              c.label,
              mode.label,
              `${c.reps} + ${c.reps}`,
              fmtStats(daemon),
              fmtStats(r),
              `${(daemon.median / r.median).toFixed(3)}×`,
              `${signed(paired.median)} % [${signed(ci[0])}, ${signed(ci[1])}] (${signed(paired.min)} to ${signed(paired.max)} %)`,
              pct(over, daemon.median - r.median),
              pct(overMin, daemon.min - r.min),
              c.bytes >= 100 * MiB ? verdict(paired.median, ci) : '— (no target)',
            ];
          }),
      ),
    );
    console.log(
      "\nWhere the daemon's time went, per run, from the daemon's debug-log timestamps (ms resolution): job " +
        'setup (queued until `podman image pull` starts), `podman image pull` start to the end of the job ' +
        "(podman's pull, then, with totals on, waiting for the concurrent `skopeo inspect` if it has not " +
        'answered yet, and removing the staging directory), and the rest (D-Bus round trip, polkit check, ' +
        'caller lookup, reply). The view refresh (`podman image list`) starts as the job ends and is not ' +
        'waited for. Raw podman pull repeated for comparison.\n',
    );
    console.log(
      table(
        [
          'image',
          'daemon mode',
          'job setup',
          'podman pull → job end',
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
      "\nThe daemon's pull is podman's pull plus: the D-Bus round trip and polkit check, polling the staging " +
        'directory for bytes done every 250 ms, and with totals on a concurrent `skopeo inspect --raw` (one ' +
        'more process and manifest GET; a finished pull waits up to 2 s for its answer so the final figures ' +
        'are exact).\n',
    );
  }),
);
