// The job queue under load: 50 distinct pulls (50 distinct small images) submitted at once through the daemon,
// wall time until the last reply, against the same 50 pulls made by raw podman one after another on the same
// store. The daemon runs one job at a time, so this measures what queueing adds (or saves) per pull.

import { execFileSync } from 'node:child_process';
import type { Stack } from '../test/helpers/stack.js';
import {
  call,
  connectClients,
  fmtMs,
  fmtRatio,
  fmtStats,
  DAEMON_MODES as MODES,
  type DaemonMode as Mode,
  main,
  note,
  nowMs,
  podmanRuns,
  podmanVerb,
  RawPodman,
  type Stats,
  stats,
  table,
  waitForLog,
  withStack,
} from './lib.js';
import { recordTarget } from './targets.js';

const TARGET_RATIO = 1; // daemon / raw, default mode: queueing through the daemon at most raw podman's time

/** What one of the daemon's processes did: podman's verb, or `skopeo copy` / `skopeo inspect`. */
function verbOf(args: readonly string[]): string {
  return args.some((a) => a.endsWith('skopeo')) && args.includes('copy') ? 'skopeo copy' : podmanVerb(args);
}

/** A pull process: `podman image pull`, or `skopeo copy` where the daemon pulls with skopeo. */
const isPull = (args: readonly string[]) => ['image pull', 'skopeo copy'].includes(verbOf(args));

const KiB = 1024;
const N = Number(process.env.BENCH_QUEUE_N ?? 50);
const REPS = Number(process.env.BENCH_QUEUE_REPS ?? 3);
/** Runs of the raw-only control (pulls with and without an `image list` beside each): context, not a target. */
const CONTROL_REPS = Number(process.env.BENCH_QUEUE_CONTROL_REPS ?? 1);
const IMAGE_BYTES = 256 * KiB;
const REPO = 'bench/queue';

interface Result {
  mode: Mode;
  daemon: Stats;
  raw: Stats;
  /** Per repetition, daemon wall / raw wall (the two runs back to back). */
  paired: Stats;
  jobs: string;
  processes: string;
  /** Per job: its `podman image pull` start → the job's end (daemon log, ms resolution). */
  inJob: Stats;
  /** One job's end → the next job's `podman image pull` start. */
  between: Stats;
  /** The first call → the first `podman image pull` start (wall clock vs the daemon's log clock). */
  leadIn: Stats;
  rawCall: Stats;
}

/** The `time` of every daemon log line with this message, in order. */
function logTimes(log: string, msg: string): number[] {
  const out: number[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      const e = JSON.parse(line) as { time?: number };
      if (e.time !== undefined) out.push(e.time);
    } catch {
      // a partial line
    }
  }
  return out;
}

/** Builds `count` distinct single-layer images (random bytes) as tags of one repository, 3 at a time. */
async function pushImages(s: Stack, refs: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const ref = refs[next++]!;
      await s.builder.buildAndPush(ref, { bytes: IMAGE_BYTES });
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const refs = Array.from({ length: N }, (_, i) => `${s.registry.host}/${REPO}:q${i}`);
    const results: Result[] = [];
    // One connection per pull (each its own bus name): a caller's own pending calls may be capped by the
    // daemon, and 50 callers is the realistic shape of 50 pulls at once anyway.
    const clients = await connectClients(s, N);
    const control = { plain: [] as number[], overlap: [] as number[] };
    try {
      note(`build and push ${N} distinct ${IMAGE_BYTES / KiB} KiB images`);
      await pushImages(s, refs);

      // Every run starts from the same store: none of the N images present (one raw `image rm` of all), synced.
      const prepare = async () => {
        await raw.ok(['image', 'rm', '--ignore', '--', ...refs]);
        execFileSync('sync');
      };
      const daemonRun = async () => {
        await prepare();
        const logFrom = s.daemon.output().length;
        const wall0 = Date.now();
        const t0 = nowMs();
        const answers = await Promise.all(
          refs.map((ref, i) => call(clients[i]!, 'Pull', 'ss', [ref, 'always'])),
        );
        const wall = nowMs() - t0;
        if (answers.some((a) => a[0] !== true)) throw new Error('a Pull did not answer true');
        await waitForLog(s.daemon, '"msg":"job finished"', logFrom, N);
        const log = s.daemon.output().slice(logFrom);
        const verbs = new Map<string, number>();
        for (const r of podmanRuns(log)) verbs.set(verbOf(r.args), (verbs.get(verbOf(r.args)) ?? 0) + 1);
        const processes = [...verbs].map(([v, n]) => `${n} × \`${v}\``).join(', ');
        // Jobs run one at a time, so the i-th pull process belongs to the i-th finished job.
        const starts = podmanRuns(log)
          .filter((r) => isPull(r.args))
          .map((r) => r.time);
        const ends = logTimes(log, 'job finished');
        const inJob = starts.map((t, i) => (ends[i] ?? t) - t);
        const between = starts.slice(1).map((t, i) => t - ends[i]!);
        return {
          wall,
          jobs: log.split('"msg":"job queued"').length - 1,
          processes,
          inJob,
          between,
          leadIn: (starts[0] ?? wall0) - wall0,
        };
      };
      const rawCalls: number[] = [];
      const rawRun = async () => {
        await prepare();
        const t0 = nowMs();
        for (const ref of refs) rawCalls.push((await raw.ok(['image', 'pull', '--', ref])).ms);
        return nowMs() - t0;
      };

      for (const [m, mode] of MODES.entries()) {
        if (m > 0 || mode.args.length > 0) {
          note(`restarting the daemon with [${mode.args.join(' ')}]`);
          await s.restartDaemon(mode.args);
        }
        // Warm-up (untimed): registry blobs into the page cache, podman warm, polkit answer cached.
        note(`${mode.label}: warm-up`);
        await daemonRun();
        await rawRun();
        rawCalls.length = 0;
        const inJob: number[] = [];
        const between: number[] = [];
        const leadIn: number[] = [];
        const d: number[] = [];
        const r: number[] = [];
        const jobs: number[] = [];
        const processes: string[] = [];
        for (let i = 0; i < REPS; i++) {
          note(`${mode.label}: repetition ${i + 1}/${REPS}`);
          const dr = async () => {
            const x = await daemonRun();
            d.push(x.wall);
            jobs.push(x.jobs);
            processes.push(x.processes);
            inJob.push(...x.inJob);
            between.push(...x.between);
            leadIn.push(x.leadIn);
          };
          if (i % 2 === 0) {
            await dr();
            r.push(await rawRun());
          } else {
            r.push(await rawRun());
            await dr();
          }
        }
        note(`${mode.label}: daemon ${d.map((x) => x.toFixed(0))} ms; raw ${r.map((x) => x.toFixed(0))} ms`);
        const distinct = [...new Set(jobs)];
        results.push({
          mode,
          daemon: stats(d),
          raw: stats(r),
          paired: stats(d.map((x, i) => x / r[i]!)),
          jobs: distinct.length === 1 ? `${distinct[0]} (all runs)` : jobs.join(', '),
          processes: [...new Set(processes)].join('; '),
          inJob: stats(inJob),
          between: stats(between),
          leadIn: stats(leadIn),
          rawCall: stats(rawCalls),
        });
      }
      // Control: raw podman with the daemon's one extra — a `podman image list` started (not awaited) after
      // each pull, as the daemon refreshes its view — to tell what that overlap costs by itself.
      const overlapRun = async () => {
        await prepare();
        const t0 = nowMs();
        const lists: Promise<unknown>[] = [];
        for (const ref of refs) {
          await raw.ok(['image', 'pull', '--', ref]);
          lists.push(raw.ok(['image', 'list', '--format=json']));
        }
        await Promise.all(lists);
        return nowMs() - t0;
      };
      note('control: raw pulls with an `image list` beside each next pull');
      for (let i = 0; i < CONTROL_REPS; i++) {
        if (i % 2 === 0) {
          control.overlap.push(await overlapRun());
          control.plain.push(await rawRun());
        } else {
          control.plain.push(await rawRun());
          control.overlap.push(await overlapRun());
        }
      }
      await prepare();
    } finally {
      for (const c of clients) c.disconnect();
      raw.close();
    }

    console.log(`## Queue: ${N} distinct pulls submitted at once\n`);
    console.log(
      `${N} distinct single-layer images of ${IMAGE_BYTES / KiB} KiB random bytes in the local registry. ` +
        `Daemon: ${N} warm dbus-next connections (each its own bus name, so a polkit check each) send one ` +
        `\`Pull(ref, "always")\` each, all at the same moment (all ${N} in flight together; the daemon queues ` +
        'them as distinct jobs and runs them one at a time); wall time from ' +
        `the first call to the last reply. Raw podman: the same ${N} \`podman image pull\` one after another in ` +
        "the daemon's namespace invocation, on the same store. Before every run all " +
        `${N} images are removed (one raw \`podman image rm\`) and \`sync\` run; daemon and raw runs alternate ` +
        `which goes first, after one untimed warm-up each; ${REPS} runs each per daemon mode, each mode with ` +
        'its own raw runs. Paired ratio: the median (min–max) over repetitions of daemon wall / raw wall. ' +
        "The daemon pulls with `skopeo copy` where that is the same pull as podman's (src/storage/copy-pull.ts), " +
        `which skips podman's start-up per pull. Target: daemon / raw ≤ ${TARGET_RATIO.toFixed(2)}× (medians, ` +
        'default mode): queueing through the daemon costs at most what pulling by hand does.\n',
    );
    console.log(
      table(
        [
          'daemon mode',
          `daemon: ${N} at once, to last reply`,
          `raw podman: ${N} one after another`,
          'daemon / raw (medians)',
          'daemon / raw, paired',
          'per pull, daemon',
          'per pull, raw',
          'jobs queued per daemon run',
          "daemon's child processes per run",
          `target ≤ ${TARGET_RATIO.toFixed(2)}×`,
        ],
        results.map((x) => [
          x.mode.label,
          fmtStats(x.daemon),
          fmtStats(x.raw),
          fmtRatio(x.daemon.median / x.raw.median),
          `${fmtRatio(x.paired.median)} (${fmtRatio(x.paired.min)}–${fmtRatio(x.paired.max)})`,
          fmtMs(x.daemon.median / N),
          fmtMs(x.raw.median / N),
          x.jobs,
          x.processes,
          x.mode.args.length > 0
            ? '— (reference)'
            : recordTarget({
                area: 'writes',
                measure: `${N} distinct pulls at once: daemon / raw podman one after another`,
                value: fmtRatio(x.daemon.median / x.raw.median),
                target: `≤ ${TARGET_RATIO.toFixed(2)}×`,
                met: x.daemon.median / x.raw.median <= TARGET_RATIO,
              }),
        ]),
      ),
    );
    console.log(
      "\nWhere the daemon's time goes, from its debug-log timestamps (ms resolution), per job over all timed " +
        "runs: a job's pull process start to the job's end (the pull, with totals on the wait for " +
        "`skopeo inspect`'s answer, the staging directory's removal), the gap from one job's end to the next " +
        "job's pull process, and from the first call to the first pull process (the polkit " +
        `checks of ${N} new callers come first). After each job the daemon starts a \`podman image list\` to ` +
        "refresh its view without waiting for it, so that list runs beside the next job's pull.\n",
    );
    console.log(
      table(
        [
          'daemon mode',
          'pull process → job end, per job',
          'between jobs',
          'first call → first pull process',
          'raw podman pull, per call',
        ],
        results.map((x) => [
          x.mode.label,
          fmtStats(x.inJob),
          fmtStats(x.between),
          fmtStats(x.leadIn),
          fmtStats(x.rawCall),
        ]),
      ),
    );
    const plain = stats(control.plain);
    const overlap = stats(control.overlap);
    console.log(
      `\nControl, raw podman only (${CONTROL_REPS} run(s) each, alternating): the same ${N} pulls one after another, ` +
        'plain and with a `podman image list --format=json` started after each pull and left running beside ' +
        "the next one (what the daemon's view refresh does), to the end of the last pull and list.\n",
    );
    console.log(
      table(
        ['raw podman', 'wall', 'per pull', 'vs plain'],
        [
          [`${N} pulls one after another`, fmtStats(plain), fmtMs(plain.median / N), '1.00×'],
          [
            `${N} pulls, each followed by an \`image list\` beside the next pull`,
            fmtStats(overlap),
            fmtMs(overlap.median / N),
            fmtRatio(overlap.median / plain.median),
          ],
        ],
      ),
    );
    console.log('');
  }),
);
