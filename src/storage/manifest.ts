// A registry's manifest is untrusted input: it is parsed against a schema before any number in it is used, so
// a hostile or intercepted registry can at worst make a pull's size unknown, never crash or wedge the daemon
// (a size of 1e309 parses as Infinity, a string size would be concatenated, BigInt() of either throws).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from '../schema.js';

/** A byte count a registry reports: a safe non-negative integer (no Infinity, NaN, fraction or string). */
const Size = z.int().check(z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER));
const Digest = z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/));

/** At most this many entries are looked at; a real image has tens of layers and a handful of platforms. */
const MAX_ENTRIES = 4096;

const ManifestSchema = z.object({
  manifests: z.optional(
    z
      .array(
        z.object({
          digest: Digest,
          platform: z.optional(
            z.object({ os: z.optional(z.string()), architecture: z.optional(z.string()) }),
          ),
        }),
      )
      .check(z.maxLength(MAX_ENTRIES)),
  ),
  layers: z.optional(z.array(z.object({ size: Size })).check(z.maxLength(MAX_ENTRIES))),
  config: z.optional(z.object({ size: Size })),
});

export type Manifest = z.infer<typeof ManifestSchema>;

/** What a pull of one image manifest fetches. */
export interface RemoteSize {
  bytes: number;
  layers: number;
}

/** The manifest in `text`, or undefined when it is not JSON or not a manifest we can trust the sizes of. */
export function parseManifest(text: string): Manifest | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = ManifestSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** The digest of this machine's linux image in a manifest list (index), if it has one. */
export function pickPlatform(manifest: Manifest, nodeArch: string = process.arch): string | undefined {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[
    nodeArch
  ];
  return manifest.manifests?.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === arch)
    ?.digest;
}

/** Bytes and layers of an image manifest; undefined when it has no layers or the total is not safe. */
export function sumManifest(manifest: Manifest): RemoteSize | undefined {
  if (!manifest.layers) return undefined;
  const bytes = manifest.layers.reduce((n, l) => n + l.size, manifest.config?.size ?? 0);
  if (!Number.isSafeInteger(bytes)) return undefined;
  return { bytes, layers: manifest.layers.length };
}

/**
 * Bytes and layers of an image as pulled, from the manifest containers/storage keeps beside its record
 * (`overlay-images/<id>/manifest`, the platform image's own manifest): the registry's answer, read locally,
 * so a finished pull's final figures are exact without waiting for the registry. Checked like any manifest.
 */
export function readStoredSize(storePath: string, id: string): RemoteSize | undefined {
  if (!/^[a-f0-9]{64}$/.test(id)) return undefined;
  try {
    const manifest = parseManifest(readFileSync(join(storePath, 'overlay-images', id, 'manifest'), 'utf8'));
    return manifest && sumManifest(manifest);
  } catch {
    return undefined;
  }
}
