// The scale benchmark's stores (100, 1,000, 10,000 images), built once by podman itself and cached as a tar
// under .cache/bench-stores/, so a later run only restores them. One `podman load` of 10,000 images would take
// far too long (podman rewrites its whole images.json and layers.json for every image it commits, so the cost
// per image grows with the store), so the store is built as sub-stores of SUB_STORE images, each one
// `podman load` on tmpfs in the daemon's namespace invocation, two at a time, then merged: the layer and image
// records (JSON arrays) are concatenated and the per-layer / per-image directories moved side by side. podman
// ends up owning the result, which is checked by a raw `podman image rm`, `podman image exists` and a count of its records.

import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { readChangeToken } from '../src/storage/create-store.js';
import { isRecordsMiss, readImageRecords } from '../src/storage/image-records.js';
import type { Stack } from '../test/helpers/stack.js';
import { writeImageArchive } from './image-archive.js';
import { fmtMs, note, nowMs, RawPodman } from './lib.js';

/** Images per sub-store: one `podman load` each (its cost per image grows with the store it loads into). */
const SUB_STORE = 250;
/** Bumped whenever the way a store is built changes, so stale caches are rebuilt. */
const FIXTURE_VERSION = 'v1';
export const SCALE_REPO = 'localhost/bench/scale';
/** The extra image each built store holds only to prove podman can remove from it (removed before caching). */
const PROBE = `${SCALE_REPO}:probe`;
const CACHE_ROOT = resolve(process.env.BENCH_STORES_DIR ?? '.cache/bench-stores');

/** The name of image i of a scale store. */
export function scaleImageName(i: number): string {
  return `${SCALE_REPO}:i${i}`;
}

/** A cached store: its tar, and how long building it took when it was built (this run only). */
export interface CachedStore {
  tar: string;
  built?: { ms: number; steps: [string, number][] };
}

/** Raw podman (the daemon's invocation) on any store and runroot, outside a stack (fixture building). */
export function makeRawPodman(
  store: string,
  runroot: string,
  env: NodeJS.ProcessEnv = process.env,
): RawPodman {
  const noStack = { sandbox: { env } } as unknown as Stack;
  return new RawPodman(noStack, store, runroot);
}

function podmanVersion(): string {
  return execFileSync('podman', ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' }).trim();
}

/** Where the store of n images is cached; the key holds the build method version and podman's version. */
export function cachedStorePath(n: number): string {
  return join(CACHE_ROOT, `${FIXTURE_VERSION}-podman${podmanVersion()}-${n}`, 'store.tar');
}

async function buildSubStore(dir: string, first: number, names: string[]): Promise<void> {
  const store = join(dir, 'store');
  const runroot = join(dir, 'run');
  mkdirSync(store, { recursive: true });
  mkdirSync(runroot, { recursive: true });
  const archive = join(dir, 'images.tar');
  writeImageArchive(archive, names);
  const raw = makeRawPodman(store, runroot);
  try {
    const r = await raw.ok(['image', 'load', '-q', '-i', archive]);
    note(`scale store: sub-store at ${first} (${names.length} images) loaded in ${fmtMs(r.ms)}`);
  } finally {
    raw.close();
    rmSync(archive, { force: true });
  }
}

function readJsonArray(path: string): unknown[] {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown[]) : [];
}

/** Moves every entry of `from` into `to` except the names in `skip`. */
function moveEntries(from: string, to: string, skip: readonly string[] = []): void {
  for (const e of readdirSync(from)) if (!skip.includes(e)) renameSync(join(from, e), join(to, e));
}

/** Merges sub-store `sub` into `base`: records concatenated, layer and image directories moved. */
function mergeInto(base: string, sub: string): void {
  for (const [dir, file] of [
    ['overlay-layers', 'layers.json'],
    ['overlay-images', 'images.json'],
  ] as const) {
    const records = [...readJsonArray(join(base, dir, file)), ...readJsonArray(join(sub, dir, file))];
    writeFileSync(join(base, dir, file), JSON.stringify(records));
    moveEntries(join(sub, dir), join(base, dir), [file, file.replace('.json', '.lock')]);
  }
  moveEntries(join(sub, 'overlay', 'l'), join(base, 'overlay', 'l'));
  moveEntries(join(sub, 'overlay'), join(base, 'overlay'), ['l', '.has-mount-program']);
}

/** Builds a store of n images (on tmpfs), verifies it with podman, and writes it as a tar to `tar`. */
async function buildStore(n: number, tar: string): Promise<CachedStore> {
  const steps: [string, number][] = [];
  const t0 = nowMs();
  const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'bsd-scale-build-'));
  try {
    const names = [...Array.from({ length: n }, (_, i) => scaleImageName(i)), PROBE];
    const subs: { dir: string; first: number; names: string[] }[] = [];
    for (let first = 0; first < names.length; first += SUB_STORE)
      subs.push({
        dir: join(work, `sub-${subs.length}`),
        first,
        names: names.slice(first, first + SUB_STORE),
      });
    let next = 0;
    const worker = async () => {
      while (next < subs.length) {
        const s = subs[next++]!;
        await buildSubStore(s.dir, s.first, s.names);
      }
    };
    let t = nowMs();
    await Promise.all([worker(), worker()]);
    steps.push([
      `${subs.length} × raw \`podman load\` of ≤${SUB_STORE} images (2 at a time, tmpfs)`,
      nowMs() - t,
    ]);

    t = nowMs();
    const base = join(subs[0]!.dir, 'store');
    for (const s of subs.slice(1)) mergeInto(base, join(s.dir, 'store'));
    steps.push([`merge ${subs.length} sub-stores`, nowMs() - t]);

    t = nowMs();
    const raw = makeRawPodman(base, join(subs[0]!.dir, 'run'));
    try {
      // Counted from the store's records (src/storage/image-records.ts, checked against podman's list by
      // test/integration/image-records.test.ts): podman 4.3's own list is quadratic (over 20 min at 10,000).
      const listed = () => {
        const records = readImageRecords(base, () => readChangeToken(base));
        if (isRecordsMiss(records)) throw new Error(`the merged store's records: ${records.reason}`);
        return records.length;
      };
      await raw.ok(['image', 'rm', '--', PROBE]);
      const after = listed();
      if (after !== n)
        throw new Error(`after removing the probe the store lists ${after} images, expected ${n}`);
      if ((await raw.run(['image', 'exists', '--', scaleImageName(n - 1)])).exitCode !== 0)
        throw new Error(`podman does not find ${scaleImageName(n - 1)} in the merged store`);
    } finally {
      raw.close();
    }
    steps.push(['check: raw `image rm` of the probe, record count, raw `image exists`', nowMs() - t]);

    t = nowMs();
    mkdirSync(join(tar, '..'), { recursive: true });
    execFileSync('tar', ['-C', base, '-cf', `${tar}.tmp`, '.']);
    renameSync(`${tar}.tmp`, tar);
    steps.push(['tar into the cache', nowMs() - t]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { tar, built: { ms: nowMs() - t0, steps } };
}

/** The cached store of n images, built now if it is not cached yet. */
export async function ensureStore(n: number): Promise<CachedStore> {
  const tar = cachedStorePath(n);
  if (existsSync(tar)) return { tar };
  note(`scale store of ${n} images not cached: building it (once) into ${tar}`);
  return buildStore(n, tar);
}

/**
 * Replaces `store` (a directory) with the cached store's content, written out to disk (`sync`: otherwise the
 * next timed removal's fdatasync calls wait for the extraction's writeback); returns how long it took.
 */
export function restoreStore(cached: CachedStore, store: string): number {
  const t = nowMs();
  rmSync(store, { recursive: true, force: true });
  mkdirSync(store, { recursive: true });
  execFileSync('tar', ['-C', store, '-xf', cached.tar]);
  execFileSync('sync');
  return nowMs() - t;
}
