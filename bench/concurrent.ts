// Many clients pulling the same image at once through the daemon: wall time against one pull, and the
// manifest GETs the registry saw against one pull's. Raw podman doing the same is measured for reference.

import { execFileSync } from 'node:child_process';
import type { Stack } from '../test/helpers/stack.js';
import {
  call,
  connectClients,
  fmtRatio,
  fmtStats,
  main,
  note,
  nowMs,
  RawPodman,
  type Stats,
  sleep,
  stats,
  table,
  timed,
  withStack,
} from './lib.js';

const MiB = 1024 * 1024;
const CLIENTS = Number(process.env.BENCH_CONCURRENT_CLIENTS ?? 40);
const REPS = Number(process.env.BENCH_CONCURRENT_REPS ?? 5);
const RAW_REPS = Number(process.env.BENCH_CONCURRENT_RAW_REPS ?? 2);
const IMAGE_BYTES = 32 * MiB;
const REPO = 'bench/concurrent';

interface Scenario {
  label: string;
  wall: Stats;
  perClient?: Stats;
  gets: Stats;
  jobs?: string;
}

/** The registry writes its access log asynchronously: wait until the count stops moving. */
async function settledGets(s: Stack): Promise<number> {
  let last = s.registry.countManifestGets(REPO);
  for (;;) {
    await sleep(300);
    const now = s.registry.countManifestGets(REPO);
    if (now === last) return now;
    last = now;
  }
}

function countJobs(log: string): { queued: number; joined: number } {
  return {
    queued: log.split('"msg":"job queued"').length - 1,
    joined: log.split('"msg":"joined an identical job"').length - 1,
  };
}

/** "1 job, 39 joined (all 5 runs)", or each run's figures when they differ. */
function describeJobs(runs: { queued: number; joined: number }[]): string {
  const each = runs.map((r) => `${r.queued} job${r.queued === 1 ? '' : 's'}, ${r.joined} joined`);
  const distinct = [...new Set(each)];
  return distinct.length === 1 ? `${distinct[0]} (all ${runs.length} runs)` : each.join('; ');
}

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const ref = `${s.registry.host}/${REPO}:v1`;
    const scenarios: Scenario[] = [];
    const clients = await connectClients(s, CLIENTS);
    try {
      note(`build and push a ${IMAGE_BYTES / MiB} MiB single-layer image`);
      await s.builder.buildAndPush(ref, { bytes: IMAGE_BYTES });
      const prepare = async () => {
        if ((await raw.run(['image', 'exists', '--', ref])).exitCode === 0)
          await raw.ok(['image', 'rm', '--', ref]);
        execFileSync('sync');
      };
      const pull = async (c: (typeof clients)[number]) => {
        const [fetched] = await call(c, 'Pull', 'ss', [ref, 'always']);
        if (fetched !== true) throw new Error(`Pull answered ${String(fetched)}`);
      };

      // Warm-up: one pull each way, and one Pull per client connection (nothing timed).
      note('warm-up');
      await prepare();
      await Promise.all(clients.map(pull));
      await prepare();
      await raw.ok(['image', 'pull', '--', ref]);

      type Run = { wall: number; perClient: number[]; gets: number; queued: number; joined: number };
      const measure = async (n: number, how: 'daemon' | 'raw'): Promise<Run> => {
        await prepare();
        const before = await settledGets(s);
        const logFrom = s.daemon.output().length;
        const t0 = nowMs();
        const perClient = await Promise.all(
          Array.from({ length: n }, async (_, i) =>
            how === 'daemon'
              ? (await timed(() => pull(clients[i]!))).ms
              : (await raw.ok(['image', 'pull', '--', ref])).ms,
          ),
        );
        const wall = nowMs() - t0;
        const gets = (await settledGets(s)) - before;
        return { wall, perClient, gets, ...countJobs(s.daemon.output().slice(logFrom)) };
      };
      const summarize = (label: string, runs: Run[], n: number, daemon: boolean): Scenario => ({
        label,
        wall: stats(runs.map((r) => r.wall)),
        ...(n > 1 ? { perClient: stats(runs.flatMap((r) => r.perClient)) } : {}),
        gets: stats(runs.map((r) => r.gets)),
        ...(daemon ? { jobs: describeJobs(runs) } : {}),
      });

      const one: Run[] = [];
      const many: Run[] = [];
      for (let i = 0; i < REPS; i++) {
        note(`daemon: one pull, then ${CLIENTS} clients at once (${i + 1}/${REPS})`);
        one.push(await measure(1, 'daemon'));
        many.push(await measure(CLIENTS, 'daemon'));
      }
      scenarios.push(summarize('daemon: 1 client', one, 1, true));
      scenarios.push(summarize(`daemon: ${CLIENTS} clients at once`, many, CLIENTS, true));

      const rawOne: Run[] = [];
      const rawMany: Run[] = [];
      for (let i = 0; i < REPS; i++) {
        note(`raw podman: one pull (${i + 1}/${REPS})`);
        rawOne.push(await measure(1, 'raw'));
      }
      for (let i = 0; i < RAW_REPS; i++) {
        note(`raw podman: ${CLIENTS} pulls at once (${i + 1}/${RAW_REPS})`);
        rawMany.push(await measure(CLIENTS, 'raw'));
      }
      scenarios.push(summarize('raw podman: 1 pull', rawOne, 1, false));
      scenarios.push(summarize(`raw podman: ${CLIENTS} pulls at once`, rawMany, CLIENTS, false));
      await prepare();
    } finally {
      for (const c of clients) c.disconnect();
      raw.close();
    }

    const [dOne, dMany, rOne, rMany] = scenarios as [Scenario, Scenario, Scenario, Scenario];
    console.log(`## Concurrent pulls: ${CLIENTS} clients pulling the same image at once\n`);
    console.log(
      `A ${IMAGE_BYTES / MiB} MiB single-layer image from the local registry, \`Pull(ref, "always")\`, the ` +
        `image removed (and \`sync\` run) before every run. Daemon: ${CLIENTS} dbus-next connections (each its ` +
        `own bus name, so a polkit check each) call at the same moment; wall time is from the first call ` +
        `to the last reply. Manifest GETs: \`GET /v2/${REPO}/manifests/…\` lines in the registry's access log ` +
        'during the run (the daemon also asks `skopeo inspect` for the progress total). Raw podman: the same ' +
        `number of \`podman image pull\` processes at once on the same store, for reference. ` +
        `Daemon runs: ${REPS} each; raw: ${REPS} single, ${RAW_REPS} concurrent.\n`,
    );
    console.log(
      table(
        [
          'scenario',
          'wall time',
          'wall vs one pull',
          'per-client latency',
          'manifest GETs per run',
          'GETs vs one pull',
          'daemon jobs per run',
        ],
        [
          [dOne, dOne],
          [dMany, dOne],
          [rOne, rOne],
          [rMany, rOne],
        ].map(([x, base]) => [
          x!.label,
          fmtStats(x!.wall),
          fmtRatio(x!.wall.median / base!.wall.median),
          x!.perClient ? fmtStats(x!.perClient) : '—',
          x!.gets.min === x!.gets.max
            ? `${x!.gets.median}`
            : `${x!.gets.median} (${x!.gets.min}–${x!.gets.max})`,
          fmtRatio(x!.gets.median / base!.gets.median),
          x!.jobs ?? '—',
        ]),
      ),
    );
    console.log('');
  }),
);
