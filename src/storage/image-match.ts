// How references and removal targets match the images podman lists: both sides normalized, digests first.

import type { ImageEntry } from './parse-image-list.js';
import { type ImageReference, type ImageTarget, tryParseStoredName } from './reference.js';

/** The normalized keys under which a reference can match an image: `repo:tag` and/or `repo@digest`. */
export function referenceKeys(ref: ImageReference): string[] {
  return [ref.nameKey, ref.digestKey].filter((k): k is string => k !== undefined);
}

/** The normalized keys of an image: each name and repo digest, re-normalized (raw when not a registry name). */
export function imageKeys(image: ImageEntry): string[] {
  const keys: string[] = [];
  for (const raw of [...image.names, ...image.digests]) {
    const ref = tryParseStoredName(raw);
    if (ref) keys.push(...referenceKeys(ref));
    else keys.push(raw);
  }
  return keys;
}

/**
 * The keys a lookup by reference may match: the digest alone when there is one (quay.io/a:1@sha256:B must not
 * match whatever quay.io/a:1 points at now), else the tag. Prune roots match on both (keeping more is safe).
 */
export function lookupKeys(ref: ImageReference): string[] {
  return ref.digestKey !== undefined ? [ref.digestKey] : referenceKeys(ref);
}

/** The image a reference names, if any. */
export function findImage(images: readonly ImageEntry[], ref: ImageReference): ImageEntry | undefined {
  const keys = lookupKeys(ref);
  return images.find((img) => imageKeys(img).some((k) => keys.includes(k)));
}

/** Which image a removal target hits, and which of its names go: one name for a tag, all for an ID or digest. */
export function resolveTarget(
  images: readonly ImageEntry[],
  target: ImageTarget,
): { image: ImageEntry; names: string[] } | undefined {
  if (target.kind === 'id') {
    const image = images.find((img) => img.id === target.id);
    return image && { image, names: image.names };
  }
  const ref = target.ref;
  if (ref.digest === undefined && ref.nameKey !== undefined) {
    for (const image of images) {
      const name = image.names.find((n) => tryParseStoredName(n)?.nameKey === ref.nameKey);
      if (name !== undefined) return { image, names: [name] };
    }
    return undefined;
  }
  const image = findImage(images, ref);
  return image && { image, names: image.names };
}
