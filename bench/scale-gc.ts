// GarbageCollect of 90 % of a scale store (bench/scale.ts): one ostree deployment whose bound images are every
// tenth image, made by the real ostree tool in the sandbox sysroot, then `GarbageCollect(false)` on the full
// store (restored from the cache before each run). The collection removes by image ID under the ostree sysroot
// lock (src/storage/removal.ts, byId); raw podman's best is the same one `image rm` of all the garbage names
// that bench/scale.ts measures for Prune, in the same run.

import { createSysroot, deploy, imageQuadlet } from '../test/helpers/ostree-sysroot.js';
import type { Stack } from '../test/helpers/stack.js';
import { call, fmtMs, note, type Stats, stats, storeDir, timed } from './lib.js';
import { type CachedStore, restoreStore, scaleImageName } from './scale-fixture.js';
import type { ScaleRow } from './scale-report.js';
import { recordTarget } from './targets.js';

/** Before the daemon starts: the sandbox sysroot becomes an ostree sysroot (as on a host). */
export function makeOstreeSysroot(sysroot: string): void {
  createSysroot(sysroot);
}

/**
 * `runs` collections, each on the full store, as a row against `raw` (raw podman's one `image rm` of the same
 * garbage, measured by the caller in the same run) and a target; throws if a run removes other than the garbage.
 */
export async function measureGc(
  s: Stack,
  n: number,
  cached: CachedStore,
  raw: { stats: Stats; how: string; runs: number },
  countImages: (store: string) => number,
  out: { rows: ScaleRow[]; setup: [string, number][] },
): Promise<void> {
  const { runs } = raw;
  const { setup } = out;
  const roots = Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 === 0);
  // Mutable: ostree would make the deployment immutable, and the sandbox is removed after the bench.
  deploy(s.sandbox.sysroot, {
    mutable: true,
    quadlets: Object.fromEntries(roots.map((i) => [`r${i}.image`, imageQuadlet(scaleImageName(i))])),
  });
  const store = storeDir(s);
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    setup.push(['restore the full store before a GarbageCollect', restoreStore(cached, store)]);
    note(`${n}: daemon GarbageCollect with ${roots.length} bound images as roots`);
    const d = await timed(() => call(s.client, 'GarbageCollect', 'b', [false]));
    const removed = (d.value[0] as string[]).length;
    if (removed !== n - roots.length)
      throw new Error(`GarbageCollect removed ${removed} images, expected ${n - roots.length}`);
    const left = countImages(store);
    if (left !== roots.length) throw new Error(`after GarbageCollect the store holds ${left} images`);
    ms.push(d.ms);
  }
  const daemon = stats(ms);
  out.rows.push({ size: n, op: 'GarbageCollect 90 %', daemon, raw: raw.stats, rawHow: raw.how });
  recordTarget({
    area: 'scale',
    measure: `GarbageCollect 90 % of ${n.toLocaleString('en-US')} images vs raw podman's best (one \`image rm\`)${runs > 1 ? `, median of ${runs}` : ''}`,
    value: `${fmtMs(daemon.median)} vs ${fmtMs(raw.stats.median)}`,
    target: '≤ raw podman',
    met: daemon.median <= raw.stats.median,
    remark:
      runs > 1 && daemon.min <= raw.stats.max && raw.stats.min <= daemon.max ? 'within noise' : undefined,
  });
}
