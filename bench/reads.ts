// Reads through the daemon. (1) The D-Bus floor: a warm client's Exists and List (30 images) against a bare
// org.freedesktop.DBus.Peer.Ping to the daemon (answered by dbus-next itself, before any of our code), in
// interleaved rounds so drift cancels. (2) Where a List call's time goes: the daemon's own per-stage timing
// (BOOTC_STORAGED_TRACE_CALLS=1), polkit checks for new callers, and what marshalling the reply costs in
// dbus-next (64-bit fields apart) and in the daemon's marshaller. (3) Exists and List against raw podman on the
// same store (1 and 30 images; bench/scale.ts goes to 10,000).

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import type { Stack } from '../test/helpers/stack.js';
import { writeImageArchive } from './image-archive.js';
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
import {
  measureBreakdown,
  printBreakdown,
  type ReadCall,
  type RoundStats,
  readCalls,
  runRounds,
} from './reads-breakdown.js';
import { recordTarget } from './targets.js';

const N_FLOOR = Number(process.env.BENCH_READS_N_CLIENT ?? 2000);
const N_BUSCTL = Number(process.env.BENCH_READS_N_BUSCTL ?? 20);
const N_RAW = Number(process.env.BENCH_READS_N_RAW ?? 20);
const N_COLD = 6;
const FLOOR_IMAGES = 30;
const TARGET_EXISTS = 1.5;
const TARGET_LIST = 3;
const TARGET_RAW = 20;

interface StoreRow {
  store: string;
  call: ReadCall;
  client: Stats;
  busctl: Stats;
  raw: Stats;
}

async function repeat(n: number, fn: () => Promise<number>): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await fn());
  return stats(samples);
}

/** Checks the store holds what the figures claim, through the daemon and through raw podman. */
async function checkStore(s: Stack, raw: RawPodman, ref: string, images: number): Promise<void> {
  const calls = readCalls(s.client, ref);
  for (let i = 0; i < 5; i++) for (const c of Object.values(calls)) await c();
  const [present] = await call(s.client, 'Exists', 's', [ref]);
  const [list] = (await call(s.client, 'List')) as [unknown[]];
  if (present !== true) throw new Error(`Exists(${ref}) answered ${String(present)}`);
  if (list.length !== images) throw new Error(`List returned ${list.length} images, expected ${images}`);
  if ((await raw.run(['image', 'exists', '--', ref])).exitCode !== 0)
    throw new Error(`raw podman does not see ${ref}`);
}

/** busctl (a new process and connection per call) and raw podman, for the comparison with podman. */
async function compareWithPodman(
  s: Stack,
  raw: RawPodman,
  label: string,
  ref: string,
  client: RoundStats,
): Promise<{ rows: StoreRow[]; cold: Stats }> {
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
      { store: label, call: 'Exists', client: client.Exists, busctl: busctlExists, raw: rawExists },
      { store: label, call: 'List', client: client.List, busctl: busctlList, raw: rawList },
    ],
    cold: stats(cold),
  };
}

/** `busctl call` as another user (a fresh connection, so the daemon asks polkit), N times. */
async function busctlAsNobody(s: Stack, member: string, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) =>
      execFile(
        'busctl',
        ['--system', 'call', 'org.bootc.Storage', '/org/bootc/Storage', 'org.bootc.Storage', member],
        { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: s.bus.address }, uid: 65534, gid: 65534 },
        (err) => {
          if (!err) ok += 1;
          resolve();
        },
      ),
    );
  }
  return ok;
}

function printFloor(floor: RoundStats, blocks: RoundStats[]): void {
  const ping = floor.Ping.median;
  const ratio = (c: ReadCall) => floor[c].median / ping;
  const blockRange = (c: ReadCall) => {
    const r = blocks.map((b) => b[c].median / b.Ping.median);
    return `${fmtRatio(Math.min(...r))}–${fmtRatio(Math.max(...r))}`;
  };
  const verdict = (c: ReadCall, target: number) =>
    recordTarget({
      area: 'reads',
      measure: `${c}${c === 'List' ? ` (${FLOOR_IMAGES} images)` : ''} / bare Peer.Ping, warm client`,
      value: fmtRatio(ratio(c)),
      target: `≤ ${target}×`,
      met: ratio(c) <= target,
    });
  console.log('## Reads at the D-Bus floor: Exists and List against a bare Peer.Ping\n');
  console.log(
    `One warm in-process dbus-next connection (the stack's client, uid 0) calls the daemon on a store of ` +
      `${FLOOR_IMAGES} images, in ${N_FLOOR} rounds of one \`org.freedesktop.DBus.Peer.Ping\`, one ` +
      '`Exists` (present image) and one `List`, the order rotating each round so slow drift of the machine ' +
      "cancels; after 200 untimed rounds. Ping is answered by dbus-next inside the daemon's process before " +
      'any of its code runs: the same bus hops, socket reads and writes and message parsing, and nothing else, ' +
      'so no implementation on this bus library can answer faster. Ratio = call median / Ping median; "per ' +
      `block" gives the ratio in each of ${blocks.length} consecutive blocks of the rounds (min–max).\n`,
  );
  console.log(
    table(
      ['call', 'median (min–max)', 'p90', 'p99', '/ Ping', 'per block', 'target', 'verdict'],
      (['Ping', 'Exists', 'List'] as const).map((c) => [
        c === 'List' ? `List (${FLOOR_IMAGES} images)` : c === 'Ping' ? 'Peer.Ping (floor)' : c,
        fmtStats(floor[c]),
        fmtMs(floor.p90[c]),
        fmtMs(floor.p99[c]),
        c === 'Ping' ? '1.00×' : fmtRatio(ratio(c)),
        c === 'Ping' ? '—' : blockRange(c),
        c === 'Ping' ? '—' : `≤ ${c === 'Exists' ? TARGET_EXISTS : TARGET_LIST}×`,
        c === 'Ping' ? '—' : verdict(c, c === 'Exists' ? TARGET_EXISTS : TARGET_LIST),
      ]),
    ),
  );
  console.log('');
}

function printPodman(rows: StoreRow[], colds: { store: string; cold: Stats; rawList: Stats }[]): void {
  console.log('## Reads: Exists and List through the daemon vs raw podman on the same store\n');
  console.log(
    'Median (min–max) wall time per call. Warm client: the rounds above (for the 1-image store, ' +
      `${Math.round(N_FLOOR / 2)} rounds of its own); busctl: \`busctl call\`, a new process and bus connection ` +
      `per call (so a read-grant lookup that misses each time: the caller's uid, then polkit, which root skips), ` +
      `N=${N_BUSCTL}; raw podman: \`podman image exists\` / \`podman image list --format=json\` in the daemon's ` +
      `namespace invocation, N=${N_RAW}. Ratio = raw median / daemon median. Target: reads ≥ ${TARGET_RAW}× ` +
      'faster than raw podman (warm client). Stores of 100 to 10,000 images: bench/scale.ts.\n',
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
        `target ≥${TARGET_RAW}×`,
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
          recordTarget({
            area: 'reads',
            measure: `${r.call} vs raw podman, ${r.store}, warm client`,
            value: fmtRatio(rc),
            target: `≥ ${TARGET_RAW}×`,
            met: rc >= TARGET_RAW,
          }),
        ];
      }),
    ),
  );
  console.log(
    '\nStores: distinct single-layer images of 64 random bytes each: the first built with podman, pushed to the ' +
      'local registry and pulled through the daemon; the other 29 loaded with one raw `podman load` of a ' +
      'generated docker-archive (bench/image-archive.ts).\n',
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
}

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const repo = `${s.registry.host}/bench/reads`;
    const ref = `${repo}:t0`;
    const rows: StoreRow[] = [];
    const colds: { store: string; cold: Stats; rawList: Stats }[] = [];
    let floor: RoundStats;
    let blocks: RoundStats[];
    try {
      note('1 image: build, push, pull through the daemon');
      await s.builder.buildAndPush(ref, { bytes: 64 });
      await call(s.client, 'Pull', 'ss', [ref, 'missing']);
      await checkStore(s, raw, ref, 1);
      const one = await runRounds(readCalls(s.client, ref), Math.round(N_FLOOR / 2), 1);
      const r1 = await compareWithPodman(s, raw, '1 image', ref, one.all);
      rows.push(...r1.rows);
      colds.push({ store: '1 image', cold: r1.cold, rawList: r1.rows[1]!.raw });

      note(
        `${FLOOR_IMAGES} images: ${FLOOR_IMAGES - 1} more with one raw \`podman load\` of a docker-archive`,
      );
      const archive = join(s.dir, 'reads-images.tar');
      writeImageArchive(
        archive,
        Array.from({ length: FLOOR_IMAGES - 1 }, (_, i) => `${repo}:t${i + 1}`),
      );
      await raw.ok(['image', 'load', '-q', '-i', archive]);
      rmSync(archive, { force: true });
      await checkStore(s, raw, ref, FLOOR_IMAGES);
      note(`${FLOOR_IMAGES} images: ${N_FLOOR} rounds of Ping, Exists, List`);
      const measured = await runRounds(readCalls(s.client, ref), N_FLOOR, 4);
      floor = measured.all;
      blocks = measured.blocks;
      const r30 = await compareWithPodman(s, raw, `${FLOOR_IMAGES} images`, ref, floor);
      rows.push(...r30.rows);
      colds.push({ store: `${FLOOR_IMAGES} images`, cold: r30.cold, rawList: r30.rows[1]!.raw });
    } finally {
      raw.close();
    }

    note('breakdown: the daemon restarted with per-stage timing');
    const breakdown = await measureBreakdown(s, ref, {
      rounds: Math.max(500, Math.round(N_FLOOR / 2)),
      outsideWrite: async (i) => {
        const again = new RawPodman(s);
        try {
          await again.ok(
            i % 2 === 0 ? ['image', 'tag', ref, `${repo}:trace`] : ['image', 'untag', ref, `${repo}:trace`],
          );
        } finally {
          again.close();
        }
      },
      asNobody: (member, n) => busctlAsNobody(s, member, n),
      connect: () => dbus.sessionBus({ busAddress: s.bus.address }),
    });

    printFloor(floor, blocks);
    printBreakdown(breakdown, floor, FLOOR_IMAGES);
    printPodman(rows, colds);
  }),
);
