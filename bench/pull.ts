// Pull through the daemon (Pull policy `always`) vs raw `podman image pull` in the daemon's own namespace
// invocation, into the same store with the image removed before every run, for a ~1 MB and a ~200 MB image.

import { execFileSync } from 'node:child_process';
import { call, fmtStats, main, note, RawPodman, type Stats, stats, table, timed, withStack } from './lib.js';

const MiB = 1024 * 1024;
const TARGET_OVERHEAD = 3; // % on the large image

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

interface Case {
  label: string;
  bytes: number;
  reps: number;
}

const CASES: Case[] = [
  { label: '~1 MB', bytes: 1 * MiB, reps: Number(process.env.BENCH_PULL_REPS_SMALL ?? 9) },
  { label: '~200 MB', bytes: 200 * MiB, reps: Number(process.env.BENCH_PULL_REPS_LARGE ?? 9) },
];

interface Result {
  c: Case;
  daemon: Stats;
  raw: Stats;
  /** Per repetition, (daemon − raw) / raw in %: the two runs of one repetition are back to back. */
  paired: Stats;
  phases: Phases[];
}

/** Where a daemon pull's time went, read from the daemon's own (debug) log timestamps (ms resolution). */
interface Phases {
  /** `podman image pull` started → the view refresh started (includes waiting for skopeo's size answer). */
  pull: number;
  /** The post-pull `podman image list` that refreshes the daemon's view, to the job's end. */
  refresh: number;
  /** Everything outside the job: D-Bus round trip, polkit, caller lookup, reply. */
  call: number;
}

function parsePhases(log: string, callMs: number): Phases | undefined {
  let queued: number | undefined;
  let pullAt: number | undefined;
  let listAt: number | undefined;
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
    else if (e.msg === 'running podman' && pullAt !== undefined && e.args?.includes('list'))
      listAt ??= e.time;
    else if (e.msg === 'job finished') done ??= e.time;
  }
  if (queued === undefined || pullAt === undefined || listAt === undefined || done === undefined) return;
  return { pull: listAt - pullAt, refresh: done - listAt, call: callMs - (done - queued) };
}

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const results: Result[] = [];
    try {
      for (const c of CASES) {
        const ref = `${s.registry.host}/bench/pull-${c.bytes}:v1`;
        note(`${c.label}: build (random single layer, FROM scratch + COPY) and push`);
        await s.builder.buildAndPush(ref, { bytes: c.bytes });

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
          const p = parsePhases(s.daemon.output().slice(logFrom), ms);
          if (p) phases.push(p);
          return ms;
        };
        const rawRun = async () => {
          await prepare();
          return (await raw.ok(['image', 'pull', '--', ref])).ms;
        };

        // One untimed pull each way first (registry blobs into the page cache, podman's binaries warm).
        note(`${c.label}: warm-up`);
        await daemonRun();
        await rawRun();
        phases.length = 0;
        const d: number[] = [];
        const r: number[] = [];
        for (let i = 0; i < c.reps; i++) {
          note(`${c.label}: repetition ${i + 1}/${c.reps}`);
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
          `${c.label}: daemon ${d.map((x) => x.toFixed(0)).join(' ')} ms; raw ${r.map((x) => x.toFixed(0)).join(' ')} ms`,
        );
        const paired = stats(d.map((x, i) => ((x - r[i]!) / r[i]!) * 100));
        results.push({ c, daemon: stats(d), raw: stats(r), paired, phases: [...phases] });
        await prepare(); // leave the store empty for the next case
      }
    } finally {
      raw.close();
    }

    console.log('## Pull: through the daemon vs raw podman\n');
    console.log(
      'Median (min–max) wall time of one pull of a single-layer image of random bytes (built with podman from ' +
        '`FROM scratch` + `COPY`, pushed to the local registry on 127.0.0.1, so gzip-compressed). Daemon: ' +
        '`Pull(ref, "always")` from a warm dbus-next client, call to reply. Raw: `podman image pull -- ref` in ' +
        "the daemon's namespace invocation, spawn to exit. Same store for both; the image is removed (and " +
        '`sync` run) before every run, runs alternate daemon-first / raw-first, after one untimed warm-up each. ' +
        'Overhead, paired: the median (min to max) over repetitions of (daemon − raw) / raw, the two runs of a ' +
        'repetition being back to back, which cancels slow drift of the machine (other load, writeback); the ' +
        'overheads of the medians and of the minimums are given too. ' +
        `Target: ≤ ${TARGET_OVERHEAD} % overhead on ~200 MB (judged on the paired figure).\n`,
    );
    console.log(
      table(
        [
          'image',
          'runs',
          'daemon Pull',
          'raw podman pull',
          'daemon / raw',
          'overhead, paired',
          'overhead of medians',
          'overhead of minimums',
          'target (paired)',
        ],
        results.map(({ c, daemon, raw: r, paired }) => {
          const over = ((daemon.median - r.median) / r.median) * 100;
          const overMin = ((daemon.min - r.min) / r.min) * 100;
          const pct = (x: number, ms: number) => `${signed(x)} % (${ms >= 0 ? '+' : ''}${ms.toFixed(0)} ms)`;
          return [
            c.label,
            `${c.reps} + ${c.reps}`,
            fmtStats(daemon),
            fmtStats(r),
            `${(daemon.median / r.median).toFixed(3)}×`,
            `${signed(paired.median)} % (${signed(paired.min)} to ${signed(paired.max)} %)`,
            pct(over, daemon.median - r.median),
            pct(overMin, daemon.min - r.min),
            c.bytes >= 100 * MiB ? (paired.median <= TARGET_OVERHEAD ? 'met' : 'MISSED') : '—',
          ];
        }),
      ),
    );
    console.log(
      "\nWhere the daemon's time went, per run, from the daemon's debug-log timestamps (ms resolution): " +
        '`podman image pull` inside the daemon (from its start until the view refresh starts; this includes ' +
        'waiting for the concurrent `skopeo inspect`), the view refresh (`podman image list`), and the rest ' +
        '(D-Bus round trip, polkit check, caller lookup, queueing). Raw podman pull repeated for comparison.\n',
    );
    console.log(
      table(
        ['image', 'podman pull in the daemon', 'view refresh', 'D-Bus + polkit + queue', 'raw podman pull'],
        results
          .filter((x) => x.phases.length > 0)
          .map(({ c, phases, raw: r }) => [
            c.label,
            fmtStats(stats(phases.map((p) => p.pull))),
            fmtStats(stats(phases.map((p) => p.refresh))),
            fmtStats(stats(phases.map((p) => p.call))),
            fmtStats(r),
          ]),
      ),
    );
    console.log(
      "\nThe daemon's pull is podman's pull plus: the D-Bus round trip and polkit check, a concurrent " +
        '`skopeo inspect` for the progress total, polling the staging directory for bytes done every 250 ms, ' +
        'and one `podman image list` after the pull to refresh its view before it replies.\n',
    );
  }),
);
