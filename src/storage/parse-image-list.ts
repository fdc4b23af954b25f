// Turns `podman image list --format=json` into typed entries: one per image (podman prints one per tag).

import { createError } from '../errors.js';
import * as z from '../schema.js';

/** One image in the store. */
export interface ImageEntry {
  /** Full 64-hex image ID. */
  id: string;
  /** Names (`repo:tag`, or `repo@digest` for images pulled by digest); empty for dangling images. */
  names: string[];
  /** Repo digests (`repo@sha256:…`). */
  digests: string[];
  /** The manifest digest (`sha256:…`), or '' when podman does not know it. */
  digest: string;
  /** Size in bytes. */
  size: number;
  /** Creation time, unix seconds. */
  created: number;
}

const entrySchema = z.object({
  Id: z.string().check(z.regex(/^[a-f0-9]{64}$/)),
  Names: z.nullish(z.array(z.string())),
  RepoDigests: z.nullish(z.array(z.string())),
  Digest: z.nullish(z.string()),
  Size: z.nullish(z.number().check(z.nonnegative())),
  Created: z.nullish(z.number()),
});

/** Parses podman's JSON list output and deduplicates by ID, merging names. */
export function parseImageList(stdout: string): ImageEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  } catch (err) {
    throw createError('StorageFailure', 'podman image list printed invalid JSON', {}, err);
  }
  const parsed = z.array(entrySchema).safeParse(raw);
  if (!parsed.success) {
    throw createError(
      'StorageFailure',
      `podman image list printed unexpected JSON: ${parsed.error.issues[0]?.message}`,
    );
  }
  const byId = new Map<string, ImageEntry>();
  for (const e of parsed.data) {
    const existing = byId.get(e.Id);
    const names = e.Names ?? [];
    const digests = e.RepoDigests ?? [];
    if (existing) {
      for (const n of names) if (!existing.names.includes(n)) existing.names.push(n);
      for (const d of digests) if (!existing.digests.includes(d)) existing.digests.push(d);
      continue;
    }
    byId.set(e.Id, {
      id: e.Id,
      names: [...new Set(names)],
      digests: [...new Set(digests)],
      digest: e.Digest ?? '',
      size: Math.trunc(e.Size ?? 0),
      created: Math.trunc(e.Created ?? 0),
    });
  }
  return [...byId.values()];
}
