// Exists and List latency through the daemon (a warm in-process dbus-next client, and busctl as a fresh
// process per call) against raw podman on the very same store, with 1, 100 and 1,000 names in the store.

import type { Stack } from '../test/helpers/stack.js';
import {
  busctlCall,
  call,
  fmtMs,
  fmtRatio,
  fmtStats,
  main,
  note,
  RawPodman,
  type Stats,
  stats,
  table,
  timed,
  withStack,
} from './lib.js';

const N_CLIENT = Number(process.env.BENCH_READS_N_CLIENT ?? 300);
const N_BUSCTL = Number(process.env.BENCH_READS_N_BUSCTL ?? 20);
const N_RAW = Number(process.env.BENCH_READS_N_RAW ?? 20);
const N_COLD = 6;
const TARGET = 20;

interface Row {
  store: string;
  call: string;
  client: Stats;
  busctl: Stats;
  raw: Stats;
}

async function repeat(n: number, fn: () => Promise<number>): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await fn());
  return stats(samples);
}

/** Builds `count` tiny distinct images as tags of one repository, pushed to the registry, a few at a time. */
async function pushImages(s: Stack, repo: string, first: number, count: number): Promise<void> {
  let next = first;
  const worker = async () => {
    while (next < first + count) {
      const i = next++;
      await s.builder.buildAndPush(`${repo}:t${i}`, { bytes: 64 });
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

async function measure(
  s: Stack,
  raw: RawPodman,
  label: string,
  ref: string,
  expectImages: number,
): Promise<{ rows: Row[]; cold: Stats }> {
  // Warm up: the first read after a write re-lists the store; polkit's answer for this sender gets cached.
  for (let i = 0; i < 5; i++) {
    await call(s.client, 'Exists', 's', [ref]);
    await call(s.client, 'List');
  }
  const [present] = await call(s.client, 'Exists', 's', [ref]);
  const [images] = (await call(s.client, 'List')) as [unknown[]];
  if (present !== true) throw new Error(`Exists(${ref}) answered ${String(present)}`);
  if (images.length !== expectImages)
    throw new Error(`List returned ${images.length} images, expected ${expectImages}`);
  if ((await raw.run(['image', 'exists', '--', ref])).exitCode !== 0)
    throw new Error(`raw podman does not see ${ref}`);

  note(`${label}: warm client, ${N_CLIENT} calls each`);
  const clientExists = await repeat(
    N_CLIENT,
    async () => (await timed(() => call(s.client, 'Exists', 's', [ref]))).ms,
  );
  const clientList = await repeat(N_CLIENT, async () => (await timed(() => call(s.client, 'List'))).ms);

  note(`${label}: busctl, ${N_BUSCTL} calls each`);
  const viaBusctl = async (member: string, sig = '', args: string[] = []) => {
    const r = await busctlCall(s, member, sig, args);
    if (r.exitCode !== 0) throw new Error(`busctl ${member} failed: ${r.stderr.trim()}`);
    return r.ms;
  };
  const busctlExists = await repeat(N_BUSCTL, () => viaBusctl('Exists', 's', [ref]));
  const busctlList = await repeat(N_BUSCTL, () => viaBusctl('List'));

  note(`${label}: raw podman, ${N_RAW} calls each`);
  const rawExists = await repeat(N_RAW, async () => (await raw.ok(['image', 'exists', '--', ref])).ms);
  const rawList = await repeat(N_RAW, async () => (await raw.ok(['image', 'list', '--format=json'])).ms);

  // A read right after someone else wrote the store (a raw `podman tag`/`untag` moves the change token): the
  // daemon has to re-list once. The write itself is not timed.
  note(`${label}: reads right after an outside write, ${N_COLD} times`);
  const extra = `${ref.replace(/:[^:/]+$/, '')}:cold-read`;
  const cold: number[] = [];
  for (let i = 0; i < N_COLD; i++) {
    await raw.ok(i % 2 === 0 ? ['image', 'tag', ref, extra] : ['image', 'untag', ref, extra]);
    cold.push((await timed(() => call(s.client, 'Exists', 's', [ref]))).ms);
  }
  return {
    rows: [
      { store: label, call: 'Exists', client: clientExists, busctl: busctlExists, raw: rawExists },
      { store: label, call: 'List', client: clientList, busctl: busctlList, raw: rawList },
    ],
    cold: stats(cold),
  };
}

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const repo = `${s.registry.host}/bench/reads`;
    const ref = `${repo}:t0`;
    const rows: Row[] = [];
    const colds: { store: string; cold: Stats; rawList: Stats }[] = [];
    const run = async (label: string, expectImages: number) => {
      const r = await measure(s, raw, label, ref, expectImages);
      rows.push(...r.rows);
      colds.push({ store: label, cold: r.cold, rawList: r.rows[1]!.raw });
    };

    try {
      note('1 image: build, push, pull through the daemon');
      await pushImages(s, repo, 0, 1);
      await call(s.client, 'Pull', 'ss', [ref, 'missing']);
      await run('1 image', 1);

      note('100 images: build and push 99 more, then one raw `podman pull --all-tags` into the store');
      await pushImages(s, repo, 1, 99);
      await raw.ok(['image', 'pull', '--all-tags', '--', repo]);
      await run('100 images', 100);

      note(
        '1,000 names: 9 more `podman tag` names on each of the 100 images (raw podman, one call per image)',
      );
      for (let i = 0; i < 100; i++) {
        const names = Array.from({ length: 9 }, (_, k) => `${s.registry.host}/bench/alias-${k}:t${i}`);
        await raw.ok(['image', 'tag', `${repo}:t${i}`, ...names]);
      }
      await run('1,000 names (100 images × 10 names)', 100);
    } finally {
      raw.close();
    }

    const verdict = (r: number) => (r >= TARGET ? 'met' : 'MISSED');
    console.log('## Reads: Exists and List through the daemon vs raw podman on the same store\n');
    console.log(
      `Median (min–max) wall time per call. Warm client: one in-process dbus-next connection, N=${N_CLIENT} ` +
        `calls each; busctl: \`busctl call\`, a new process and bus connection per call (so a polkit check ` +
        `each time), N=${N_BUSCTL}; raw podman: \`podman image exists\` / \`podman image list --format=json\` ` +
        `in the daemon's namespace invocation, N=${N_RAW}. Ratio = raw median / daemon median. ` +
        `Target: reads ≥ ${TARGET}× faster than raw podman (warm client).\n`,
    );
    console.log(
      table(
        [
          'store',
          'call',
          'daemon, warm client',
          'daemon, busctl',
          'raw podman',
          'raw / warm client',
          'raw / busctl',
          `target ≥${TARGET}×`,
        ],
        rows.map((r) => {
          const rc = r.raw.median / r.client.median;
          return [
            r.store,
            r.call,
            fmtStats(r.client),
            fmtStats(r.busctl),
            fmtStats(r.raw),
            fmtRatio(rc),
            fmtRatio(r.raw.median / r.busctl.median),
            verdict(rc),
          ];
        }),
      ),
    );
    console.log(
      '\nStores: "1 image" and "100 images" hold distinct single-layer images (64 random bytes each, built ' +
        'with podman and pulled from the local registry); "1,000 names" gives each of those 100 images 9 more ' +
        'names with `podman tag` (1,000 names on 100 images, not 1,000 pushed images; `podman image list` ' +
        "prints one entry per name, the daemon's List one entry per image). The names are spread over the " +
        "images because podman's JSON list repeats every name of an image in each of that image's entries: " +
        "900 names on one image make it print ~150 MB, past the daemon's 64 MiB output cap.\n",
    );
    console.log(
      table(
        ['store', `Exists right after an outside write (N=${N_COLD})`, 'raw podman image list (above)'],
        colds.map((c) => [c.store, fmtStats(c.cold), fmtMs(c.rawList.median)]),
      ),
    );
    console.log(
      "\nAn outside write (raw `podman tag`/`untag` on the store) moves the store's change token, so the " +
        "daemon's next read re-lists the store once: that read costs about one `podman image list`.\n",
    );
  }),
);
