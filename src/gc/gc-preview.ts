// What a garbage collection would keep and remove, and why: every image of the store with the deployments and
// files that root it. The matching is pruneImages' own (src/storage/removal.ts): an image stays when any of its
// names or repo digests equals any key of any root after normalization of both sides.

import { basename, relative } from 'node:path';
import { createError } from '../errors.js';
import { imageKeys, referenceKeys } from '../storage/image-match.js';
import type { ImageEntry } from '../storage/parse-image-list.js';
import { parseReference } from '../storage/reference.js';
import { MAX_LIST_ARGS } from '../storage/removal.js';
import type { GcRoot } from './find-roots.js';

/** The reason of an image no root references. */
export const UNREFERENCED = 'referenced by no deployment';

/** One image of the store and its fate. */
export interface GcPreviewEntry {
  id: string;
  names: string[];
  /** false: the collection removes it. */
  kept: boolean;
  /**
   * Every root that keeps it, joined by "; ": `bound by <checksum>.<serial> (usr/lib/bootc/bound-images.d/x.image)`
   * or `host image of <checksum>.<serial>`; for a removed image, `referenced by no deployment`.
   */
  reason: string;
}

/**
 * Previews `pruneImages(roots.map((r) => r.image))` on `images`: the same keep rule and the same refusals
 * (NoRoots for no roots, InvalidArgument past MAX_LIST_ARGS, InvalidReference for a bad root), in list order.
 */
export function previewGarbageCollect(
  roots: readonly GcRoot[],
  images: readonly ImageEntry[],
): GcPreviewEntry[] {
  if (roots.length === 0) {
    throw createError('NoRoots', 'refusing to prune with no roots: it would remove every image');
  }
  if (roots.length > MAX_LIST_ARGS) throw createError('InvalidArgument', `at most ${MAX_LIST_ARGS} roots`);
  // Each distinct reason once, in root order; key → the indexes of the reasons of every root with that key.
  const reasons: string[] = [];
  const indexOf = new Map<string, number>();
  const byKey = new Map<string, Set<number>>();
  for (const root of roots) {
    const why = describeRoot(root);
    let index = indexOf.get(why);
    if (index === undefined) {
      index = reasons.push(why) - 1;
      indexOf.set(why, index);
    }
    for (const key of referenceKeys(parseReference(root.image))) {
      const set = byKey.get(key) ?? new Set<number>();
      set.add(index);
      byKey.set(key, set);
    }
  }
  return images.map((img) => {
    const hits = new Set<number>();
    for (const key of imageKeys(img)) for (const i of byKey.get(key) ?? []) hits.add(i);
    const kept = hits.size > 0;
    const reason = kept
      ? [...hits]
          .sort((a, b) => a - b)
          .map((i) => reasons[i])
          .join('; ')
      : UNREFERENCED;
    return { id: img.id, names: [...img.names], kept, reason };
  });
}

/** One root's reason, naming its deployment and (for a bound image) the link that binds it. */
function describeRoot(root: GcRoot): string {
  const deployment = basename(root.deployment);
  const host = root.kind === 'host' || (root.kind === undefined && root.source.endsWith('.origin'));
  if (host) return `host image of ${deployment}`;
  return `bound by ${deployment} (${root.file ?? relative(root.deployment, root.source)})`;
}
