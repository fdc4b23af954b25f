// Removing images: which names and images a Remove or Prune takes away, resolved against one listing before
// anything is removed, then `podman image rm` in chunks of 100; a failure says exactly what is already gone.

import type { Logger } from 'pino';
import { createError, type StorageError } from '../errors.js';
import { imageKeys, referenceKeys, resolveTarget } from './image-match.js';
import type { ImageEntry } from './parse-image-list.js';
import { parseImageTarget, parseReference } from './reference.js';
import { assertSuccess, type RunInStoreResult } from './run-in-store.js';

/** At most this many images per `podman image rm` (keeps argv bounded, as upstream does). */
export const REMOVE_CHUNK = 100;
/** Hard cap on how many images one Remove or Prune call may name. */
export const MAX_LIST_ARGS = 4096;

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** A removal's options: the store's images, when the caller knows them exactly now, spare the first listing. */
export interface RemovalOptions extends CallOptions {
  images?: readonly ImageEntry[] | undefined;
}

/** What removal needs of a store. */
export interface RemovalContext {
  list(opts: CallOptions): Promise<ImageEntry[]>;
  /** `podman image rm -- ARGS` against the store. */
  rm(args: string[], opts: CallOptions): Promise<RunInStoreResult>;
  log: Logger;
}

/**
 * Removes images named by references or full IDs. A name removes that name (the image goes with its last
 * name); an ID or a digest reference removes the whole image. All targets are checked before anything is
 * removed. Returns the IDs of the images deleted.
 */
export async function removeImages(
  store: RemovalContext,
  inputs: readonly string[],
  opts: RemovalOptions = {},
): Promise<string[]> {
  if (inputs.length === 0) throw createError('InvalidArgument', 'no images given to remove');
  if (inputs.length > MAX_LIST_ARGS) {
    throw createError('InvalidArgument', `at most ${MAX_LIST_ARGS} images may be removed in one call`);
  }
  const targets = inputs.map(parseImageTarget);
  const images = opts.images ?? (await store.list(opts));
  const namesToRemove = new Map<ImageEntry, Set<string>>();
  for (const [i, target] of targets.entries()) {
    const match = resolveTarget(images, target);
    if (!match)
      throw createError('NotFound', `no image matches ${JSON.stringify(inputs[i])}`, { input: inputs[i] });
    const set = namesToRemove.get(match.image) ?? new Set<string>();
    for (const n of match.names) set.add(n);
    namesToRemove.set(match.image, set);
  }
  const plan = [...namesToRemove].map(([image, names]) => {
    const whole = image.names.length === 0 || image.names.every((n) => names.has(n));
    return { image, whole, args: image.names.length === 0 ? [image.id] : [...names] };
  });
  await removeInChunks(store, plan, opts);
  return plan.filter((p) => p.whole).map((p) => p.image.id);
}

/** A prune's options. */
export interface PruneOptions extends RemovalOptions {
  dryRun?: boolean;
  /**
   * Remove each image by its ID rather than by its names, for a caller that keeps every other writer out (the
   * garbage collection, under the ostree sysroot lock bootc deploys under). Faster: podman resolves an ID
   * directly but searches every image's names for each name (900 of a 1,000-image store: 17.4 s by ID, 31.8 s
   * by name). By name is the default because it is exact under a concurrent writer: a name someone adds to a
   * garbage image meanwhile (a pull of the same content) is not removed with it.
   */
  byId?: boolean;
}

/**
 * Removes every image not referenced by a root: kept when any of its names or repo digests equals a root
 * after normalization of both sides; dangling images go too. An empty root set is refused.
 */
export async function pruneImages(
  store: RemovalContext,
  rootInputs: readonly string[],
  opts: PruneOptions = {},
): Promise<string[]> {
  if (rootInputs.length === 0) {
    throw createError('NoRoots', 'refusing to prune with no roots: it would remove every image');
  }
  if (rootInputs.length > MAX_LIST_ARGS)
    throw createError('InvalidArgument', `at most ${MAX_LIST_ARGS} roots`);
  const rootKeys = new Set<string>();
  for (const input of rootInputs) for (const k of referenceKeys(parseReference(input))) rootKeys.add(k);
  const images = opts.images ?? (await store.list(opts));
  const garbage = images.filter((img) => !imageKeys(img).some((k) => rootKeys.has(k)));
  store.log.info(
    { total: images.length, prune: garbage.length, dryRun: opts.dryRun === true },
    'pruning images',
  );
  if (opts.dryRun) return garbage.map((g) => g.id);
  const plan = garbage.map((image) => ({
    image,
    whole: true,
    // podman refuses `image rm <id>` of an image with several names (without --force): those go by their
    // names, which removes the image with its last one. (Found by the soak: GC failed StorageFailure.)
    args: image.names.length === 0 || (opts.byId && image.names.length === 1) ? [image.id] : [...image.names],
  }));
  await removeInChunks(store, plan, opts);
  return garbage.map((g) => g.id);
}

async function removeInChunks(
  store: RemovalContext,
  plan: { image: ImageEntry; whole: boolean; args: string[] }[],
  opts: CallOptions,
): Promise<void> {
  let firstError: StorageError | undefined;
  for (let i = 0; i < plan.length; i += REMOVE_CHUNK) {
    const chunk = plan.slice(i, i + REMOVE_CHUNK);
    const result = await store.rm(
      chunk.flatMap((p) => p.args),
      opts,
    );
    try {
      assertSuccess(result, 'removing images');
    } catch (err) {
      firstError ??= err as StorageError;
    }
  }
  if (firstError) {
    // Say exactly what is gone, from the store itself, in the message callers see (details stay internal).
    try {
      const left = new Set((await store.list(opts)).map((img) => img.id));
      const removed = plan.filter((p) => p.whole && !left.has(p.image.id)).map((p) => p.image.id);
      firstError.details.removed = removed;
      firstError.message +=
        removed.length > 0 ? `; removed before the failure: ${removed.join(' ')}` : '; nothing was removed';
    } catch {
      firstError.message += '; which images were removed is unknown (the store could not be listed)';
    }
    throw firstError;
  }
}
