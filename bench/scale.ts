// The scale curve: stores of 100, 1,000 and 10,000 distinct images (built once by podman and cached, see
// bench/scale-fixture.ts), and for each: List, Exists (present and absent), the first read after an outside
// write, Prune and GarbageCollect of 90 % of the store, through the daemon and with raw podman on the same store in the same
// run. Prints the table, how each cost grows with the store, and writes the plot (docs/benchmarks-scale.svg).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readChangeToken } from '../src/storage/create-store.js';
import { isRecordsMiss, readImageRecords } from '../src/storage/image-records.js';
import type { Sandbox } from '../test/helpers/sandbox.js';
import type { Stack } from '../test/helpers/stack.js';
import { writeImageArchive } from './image-archive.js';
import {
  call,
  fmtMs,
  logTime,
  main,
  note,
  nowMs,
  podmanRuns,
  podmanVerb,
  RawPodman,
  type Stats,
  stats,
  storeDir,
  timed,
  waitForLog,
  withStack,
} from './lib.js';
import { renderScaleSvg } from './plot-scale.js';
import {
  type CachedStore,
  ensureStore,
  makeRawPodman,
  restoreStore,
  SCALE_REPO,
  scaleImageName,
} from './scale-fixture.js';
import { makeOstreeSysroot, measureGc } from './scale-gc.js';
import {
  formatGrowthTable,
  formatScaleTable,
  formatTextPlot,
  makePlotSeries,
  type ScaleRow,
} from './scale-report.js';
import { recordTarget } from './targets.js';

// 10,000 is not in the default: podman 4.3's `image list` re-reads layers.json once per image (quadratic), so one
// list of 10,000 images takes over ten minutes here, past the daemon's 120 s read timeout (see the printed note).
const SIZES = (process.env.BENCH_SCALE_SIZES ?? '100,1000,10000').split(',').map(Number);
/** Raw `podman image list` is measured up to this store size (quadratic in podman 4.3). */
const RAW_LIST_MAX = Number(process.env.BENCH_SCALE_RAW_LIST_MAX ?? 1000);
/** Prune (daemon and raw) is measured up to this store size. */
const PRUNE_MAX = Number(process.env.BENCH_SCALE_PRUNE_MAX ?? 1000);
/** Raw podman's one-`image rm`-per-image prune is also measured up to this store size (bench/prune.ts does 1,000). */
const PER_IMAGE_MAX = Number(process.env.BENCH_SCALE_PER_IMAGE_MAX ?? 100);
/** Daemon and raw prunes each run this many times (alternating) at stores of up to 100 / 1,000 images. */
const PRUNE_REPS_SMALL = Number(process.env.BENCH_SCALE_PRUNE_REPS ?? 5);
const PRUNE_REPS_LARGE = Number(process.env.BENCH_SCALE_PRUNE_REPS_LARGE ?? 3);
const SVG_PATH = process.env.BENCH_SCALE_SVG ?? 'docs/benchmarks-scale.svg';
const ABSENT = `${SCALE_REPO}:absent`;
const MOVED = `${SCALE_REPO}:moved`;

/** Repetitions at store size n: many for the cheap daemon reads, few for raw podman and refreshes. */
function reps(n: number) {
  const big = n >= 10_000;
  const env = (k: string, d: number) => Number(process.env[k] ?? d);
  return {
    daemon: env('BENCH_SCALE_N_DAEMON', big ? 30 : 100),
    raw: env('BENCH_SCALE_N_RAW', n <= 100 ? 10 : big ? 1 : 3),
    refresh: env('BENCH_SCALE_N_REFRESH', n <= 100 ? 6 : big ? 1 : 3),
  };
}

async function repeat(count: number, fn: () => Promise<number>): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await fn());
  return stats(samples);
}

function sandboxStore(sandbox: Sandbox): { store: string; runroot: string } {
  return {
    store: join(sandbox.sysroot, 'ostree/bootc/storage'),
    runroot: join(sandbox.run, 'bootc/storage'),
  };
}

/**
 * Restores the cached store where the daemon will look for it, then has raw podman load and remove one
 * throwaway image in the stack's (fresh) runroot. podman 4.3 leaves the runroot's mountpoints.lock empty until
 * its first layer write, and with an empty one every read re-reads layers.json several times per image; a
 * host that has written once since boot is in the state this leaves.
 */
async function prepareStore(cached: CachedStore, sandbox: Sandbox, setup: [string, number][]): Promise<void> {
  const { store, runroot } = sandboxStore(sandbox);
  mkdirSync(dirname(store), { recursive: true });
  mkdirSync(runroot, { recursive: true });
  setup.push(['restore the cached store (tar -x)', restoreStore(cached, store)]);
  const archive = join(sandbox.dir, 'warmup.tar');
  writeImageArchive(archive, [`${SCALE_REPO}:warmup`]);
  const raw = makeRawPodman(store, runroot, sandbox.env);
  try {
    const t = nowMs();
    await raw.ok(['image', 'load', '-q', '-i', archive]);
    await raw.ok(['image', 'rm', '--', `${SCALE_REPO}:warmup`]);
    setup.push(['raw `podman load` + `image rm` of one throwaway image (first layer write)', nowMs() - t]);
  } finally {
    raw.close();
  }
}

/** The store's image count from its records (exact: test/integration/image-records.test.ts), not podman's list. */
function countImages(store: string): number {
  const records = readImageRecords(store, () => readChangeToken(store));
  if (isRecordsMiss(records)) throw new Error(`the store's records: ${records.reason}`);
  return records.length;
}

async function measureReads(s: Stack, raw: RawPodman, n: number, rows: ScaleRow[]): Promise<void> {
  const r = reps(n);
  const present = scaleImageName(0);
  note(`${n}: daemon List ×${r.daemon}, Exists present/absent ×${r.daemon} each`);
  const list = await repeat(r.daemon, async () => (await timed(() => call(s.client, 'List'))).ms);
  const existsYes = await repeat(r.daemon, async () => {
    const t = await timed(() => call(s.client, 'Exists', 's', [present]));
    if (t.value[0] !== true) throw new Error(`Exists(${present}) answered ${String(t.value[0])}`);
    return t.ms;
  });
  const existsNo = await repeat(r.daemon, async () => {
    const t = await timed(() => call(s.client, 'Exists', 's', [ABSENT]));
    if (t.value[0] !== false) throw new Error(`Exists(${ABSENT}) answered ${String(t.value[0])}`);
    return t.ms;
  });
  note(`${n}: raw podman image list / exists ×${r.raw}`);
  // podman 4.3's list is quadratic: over 20 minutes for one list of 10,000 images here, so not run that big.
  const rawList =
    n > RAW_LIST_MAX
      ? undefined
      : await repeat(r.raw, async () => (await raw.ok(['image', 'list', '--format=json'])).ms);
  const rawYes = await repeat(r.raw, async () => (await raw.ok(['image', 'exists', '--', present])).ms);
  const rawNo = await repeat(r.raw, async () => {
    const x = await raw.run(['image', 'exists', '--', ABSENT]);
    if (x.exitCode !== 1) throw new Error(`raw podman image exists ${ABSENT} exited ${x.exitCode}`);
    return x.ms;
  });
  rows.push(
    {
      size: n,
      op: 'List',
      daemon: list,
      raw: rawList,
      rawHow: rawList
        ? '`image list --format=json`'
        : `not run above ${RAW_LIST_MAX.toLocaleString('en-US')} images (one list of 10,000 ran > 20 min)`,
    },
    { size: n, op: 'Exists (present)', daemon: existsYes, raw: rawYes, rawHow: '`image exists`' },
    { size: n, op: 'Exists (absent)', daemon: existsNo, raw: rawNo, rawHow: '`image exists`' },
  );

  // An outside write (raw tag/untag of a second name, not timed) moves the store's change token; the daemon's
  // next read must re-list the store. Exists of that very name proves the answer is fresh.
  note(`${n}: first read after an outside write ×${r.refresh}`);
  const fresh: number[] = [];
  const rawFresh: number[] = [];
  for (let i = 0; i < r.refresh; i++) {
    const tagged = i % 2 === 0;
    await raw.ok(tagged ? ['image', 'tag', present, MOVED] : ['image', 'untag', present, MOVED]);
    const t = await timed(() => call(s.client, 'Exists', 's', [MOVED]));
    if (t.value[0] !== tagged)
      throw new Error(`Exists(${MOVED}) after the outside write answered ${String(t.value[0])}`);
    fresh.push(t.ms);
    const x = await raw.run(['image', 'exists', '--', MOVED]);
    if (x.exitCode !== (tagged ? 0 : 1)) throw new Error(`raw image exists ${MOVED} exited ${x.exitCode}`);
    rawFresh.push(x.ms);
  }
  if (r.refresh % 2 === 1) await raw.ok(['image', 'untag', present, MOVED]);
  rows.push({
    size: n,
    op: 'Exists after an outside write',
    daemon: stats(fresh),
    raw: stats(rawFresh),
    rawHow: '`image exists` after the same write',
  });
}

async function measurePrune(
  s: Stack,
  raw: RawPodman,
  n: number,
  cached: CachedStore,
  rows: ScaleRow[],
  setup: [string, number][],
  breakdowns: string[],
): Promise<{ stats: Stats; how: string; runs: number }> {
  const keep = Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 === 0);
  const roots = keep.map(scaleImageName);
  const garbage = Array.from({ length: n }, (_, i) => i)
    .filter((i) => i % 10 !== 0)
    .map(scaleImageName);
  const store = storeDir(s);

  // Both run the same `podman image rm` in the end, so single runs differ by the disk's noise: at small sizes
  // each side runs several times, alternating which goes first, each on a freshly restored store.
  const runs = n <= 100 ? PRUNE_REPS_SMALL : n <= 1000 ? PRUNE_REPS_LARGE : 1;
  const daemonMs: number[] = [];
  const rawMs: number[] = [];
  const daemonPrune = async () => {
    note(`${n}: daemon Prune(${roots.length} roots) removes ${garbage.length} images`);
    const logFrom = s.daemon.output().length;
    const d = await timed(() => call(s.client, 'Prune', 'as', [roots]));
    await waitForLog(s.daemon, '"msg":"job finished"', logFrom);
    if (daemonMs.length === 0)
      breakdowns.push(
        `${n.toLocaleString('en-US')} images: ${describePodmanRuns(s.daemon.output().slice(logFrom))}`,
      );
    const removed = (d.value[0] as string[]).length;
    if (removed !== garbage.length)
      throw new Error(`Prune removed ${removed} images, expected ${garbage.length}`);
    const [after] = (await call(s.client, 'List')) as [unknown[]];
    if (after.length !== keep.length) throw new Error(`after Prune List shows ${after.length} images`);
    daemonMs.push(d.ms);
  };
  const rawPrune = async () => {
    note(`${n}: raw podman: one \`podman image rm\` of all ${garbage.length} names`);
    const one = await raw.ok(['image', 'rm', '--', ...garbage]);
    const left = countImages(store);
    if (left !== keep.length) throw new Error(`after the raw rm the store holds ${left} images`);
    rawMs.push(one.ms);
  };
  for (let r = 0; r < runs; r++) {
    for (const side of r % 2 === 0 ? [daemonPrune, rawPrune] : [rawPrune, daemonPrune]) {
      // The first daemon run takes the store as the reads above left it (the full cached store).
      if (r > 0 || side === rawPrune)
        setup.push(['restore the full store before a prune', restoreStore(cached, store)]);
      await side();
    }
  }
  const daemon = stats(daemonMs);
  const rawStats = stats(rawMs);
  rows.push({
    size: n,
    op: 'Prune 90 %',
    daemon,
    raw: rawStats,
    rawHow: `one \`image rm\` of all ${garbage.length.toLocaleString('en-US')} names`,
  });
  const met = daemon.median <= rawStats.median;
  // Within noise: the two sides' ranges overlap (the verdict is the medians').
  const overlap = runs > 1 && daemon.min <= rawStats.max && rawStats.min <= daemon.max;
  recordTarget({
    area: 'scale',
    measure: `Prune 90 % of ${n.toLocaleString('en-US')} images vs raw podman's best (one \`image rm\`)${runs > 1 ? `, median of ${runs} each` : ''}`,
    value: `${fmtMs(daemon.median)} vs ${fmtMs(rawStats.median)}`,
    target: '≤ raw podman',
    met,
    remark: overlap ? 'within noise' : undefined,
  });

  const rawBest = {
    stats: rawStats,
    how: `one \`image rm\` of all ${garbage.length.toLocaleString('en-US')} names`,
    runs,
  };
  if (n > PER_IMAGE_MAX) return rawBest;
  setup.push(['restore the full store before the per-image raw prune', restoreStore(cached, store)]);
  note(`${n}: raw podman: ${garbage.length} × \`podman image rm\`, one image each`);
  const t0 = nowMs();
  for (const name of garbage) await raw.ok(['image', 'rm', '--', name]);
  const perImage = nowMs() - t0;
  rows.push({
    size: n,
    op: 'Prune 90 % (raw: rm per image)',
    daemon,
    daemonShared: true,
    raw: stats([perImage]),
    rawHow: `${garbage.length.toLocaleString('en-US')} × \`image rm\`, one name each`,
  });
  return rawBest;
}

async function measureSize(
  n: number,
  rows: ScaleRow[],
  setupOut: string[],
  breakdowns: string[],
): Promise<void> {
  const setup: [string, number][] = [];
  const t = nowMs();
  const cached = await ensureStore(n);
  if (cached.built) for (const [what, ms] of cached.built.steps) setup.push([`build once: ${what}`, ms]);
  else setup.push(['find the cached store', nowMs() - t]);
  await withStack(
    async (s) => {
      const raw = new RawPodman(s);
      try {
        const first = await timed(() => call(s.client, 'List'));
        const listed = (first.value[0] as unknown[]).length;
        if (listed !== n) throw new Error(`the daemon lists ${listed} images, expected ${n}`);
        setup.push(["the daemon's first List after its start", first.ms]);
        await measureReads(s, raw, n, rows);
        if (n <= PRUNE_MAX) {
          const rawBest = await measurePrune(s, raw, n, cached, rows, setup, breakdowns);
          await measureGc(s, n, cached, rawBest, countImages, { rows, setup });
        } else note(`${n}: Prune not measured (BENCH_SCALE_PRUNE_MAX=${PRUNE_MAX})`);
      } finally {
        raw.close();
      }
    },
    {
      beforeDaemon: (sandbox) => {
        makeOstreeSysroot(sandbox.sysroot);
        return prepareStore(cached, sandbox, setup);
      },
    },
  );
  setupOut.push(...setup.map(([what, ms]) => `| ${n.toLocaleString('en-US')} | ${what} | ${fmtMs(ms)} |`));
}

/** `2 × image list (5.9 s), 10 × image rm (20 s)`: the podman runs in a slice of the daemon's log, by verb. */
function describePodmanRuns(log: string): string {
  const runs = podmanRuns(log);
  const end = logTime(log, 'job finished');
  const byVerb = new Map<string, { n: number; ms: number }>();
  for (const [i, run] of runs.entries()) {
    const v = podmanVerb(run.args);
    const g = byVerb.get(v) ?? { n: 0, ms: 0 };
    g.n += 1;
    g.ms += (runs[i + 1]?.time ?? end ?? run.time) - run.time;
    byVerb.set(v, g);
  }
  return (
    [...byVerb].map(([v, g]) => `${g.n} × \`${v}\` (${fmtMs(g.ms)})`).join(', ') || 'no podman runs logged'
  );
}

/** Long durations in minutes. */
function fmtLong(ms: number): string {
  return ms >= 120_000 ? `${(ms / 60_000).toFixed(0)} min` : fmtMs(ms);
}

/** How raw podman's list grows per tenfold store (from the two largest sizes it ran at), and what that means. */
function formatProjection(rows: readonly ScaleRow[]): string {
  const lists = rows
    .filter((r): r is ScaleRow & { raw: Stats } => r.op === 'List' && r.raw !== undefined)
    .sort((a, b) => a.size - b.size);
  const [a, b] = lists.slice(-2);
  if (!a || !b) return '';
  const perTenfold = (b.raw.median / a.raw.median) ** (1 / Math.log10(b.size / a.size));
  return (
    `Raw \`podman image list\` grew ${perTenfold.toFixed(1)}× per tenfold store here (podman 4.3 re-reads ` +
    'layers.json once per image it lists: strace shows ~1 open of it per image), so a store of ' +
    `${(b.size * 10).toLocaleString('en-US')} images projects to ~${fmtLong(b.raw.median * perTenfold)} per list ` +
    '(one such list ran over 20 minutes here before it was stopped). The daemon does not pay it: its view is ' +
    "read from the store's own records (src/storage/image-records.ts, the files podman reads, checked " +
    "against podman's list by test/integration/image-records.test.ts), with podman's list only as the fallback."
  );
}

main(async () => {
  const rows: ScaleRow[] = [];
  const setup: string[] = [];
  const breakdowns: string[] = [];
  for (const n of SIZES) {
    note(`store of ${n} images`);
    await measureSize(n, rows, setup, breakdowns);
  }
  mkdirSync(dirname(SVG_PATH), { recursive: true });
  writeFileSync(SVG_PATH, renderScaleSvg('bootc-storaged vs raw podman by store size', makePlotSeries(rows)));
  note(`wrote ${SVG_PATH}`);

  console.log('## Scale: the daemon vs raw podman on stores of 100 to 10,000 images\n');
  console.log(
    'Each store holds distinct images of one layer each (64 random bytes), built once by podman itself and ' +
      'cached under `.cache/bench-stores/` (bench/scale-fixture.ts: sub-stores of 250 images, one `podman ' +
      'load` each on tmpfs, merged, then checked with a raw `podman image rm`, `image exists` and a count of its records); each run ' +
      "restores it into a fresh stack's sysroot. Daemon: a warm dbus-next client; raw podman: the daemon's " +
      'namespace invocation on the same store in the same run. "Exists after an outside write": a raw ' +
      '`podman tag`/`untag` of a second name (not timed), then `Exists` of that name, which makes the daemon ' +
      're-list the store. Prune 90 %: `Prune` with every tenth image as a root; raw podman on the same full ' +
      'store (restored from the cache before each prune) with one `podman image rm` of all the other names ' +
      `(the best raw podman can do; both end in that same command, so each side runs ${PRUNE_REPS_SMALL} times up to 100 images ` +
      `and ${PRUNE_REPS_LARGE} up to 1,000, alternating which goes first, and "within noise" says the two ranges overlap), and, up to ` +
      `${PER_IMAGE_MAX.toLocaleString('en-US')} images, one \`podman image rm\` per image. ` +
      'Ratio = raw median / daemon median.\n',
  );
  console.log(formatScaleTable(rows));
  console.log('\nHow the cost grows (median; per image = median / images in the store):\n');
  console.log(formatGrowthTable(rows));
  console.log(
    "\nWhere the daemon's Prune spends its time (its `running podman` debug lines; each run lasts until the " +
      'next starts, the last until the job ended):\n',
  );
  for (const b of breakdowns) console.log(`- ${b}`);
  console.log(`\n${formatProjection(rows)}`);
  console.log('\n![scale curve](benchmarks-scale.svg)\n');
  console.log(`\`\`\`text\n${formatTextPlot(rows)}\n\`\`\`\n`);
  console.log('Setup (not part of the figures above):\n');
  console.log(`| images | step | time |\n| --- | --- | --- |\n${setup.join('\n')}\n`);
});
