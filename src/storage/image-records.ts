// The store's images read from containers-storage's own records (overlay-images/images.json and
// overlay-layers/layers.json), computed the way `podman image list` computes them, without running podman.
// Why: podman 4.3's list re-reads layers.json once per image it lists, so it grows with the square of the store
// (bench/scale.ts: ~0.5 s at 100 images, tens of seconds at 1,000, over 20 minutes at 10,000), and every read
// after an outside write paid it. These files are what podman itself reads; c/storage replaces each one by an
// atomic rename, and the change token read before and after tells whether both files belong to one state.
// Anything unexpected returns undefined and the caller asks podman (the source of truth stays podman's).

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageEntry } from './parse-image-list.js';

/** The fields of one images.json record this module reads (c/storage's `Image`). */
interface ImageRecord {
  id: string;
  digest?: string;
  digests?: string[] | null;
  names?: string[] | null;
  layer?: string;
  'mapped-layers'?: string[] | null;
  'big-data-sizes'?: Record<string, number> | null;
  'big-data-digests'?: Record<string, string> | null;
  created?: string;
}

/** The fields of one layers.json record this module reads (c/storage's `Layer`). */
interface LayerRecord {
  id: string;
  parent?: string;
  'diff-digest'?: string;
  'diff-size'?: number;
}

// The records are checked in place, field by field, rather than with a zod schema: a schema copies every
// record it parses, and at 10,000 images (15 MB of images.json) the copies and their garbage were most of a
// refresh (bench/scale.ts, "Exists after an outside write"). What is checked is what this module reads.
type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, type: 'string' | 'number') => v === undefined || typeof v === type;
const strings = (v: unknown) => v == null || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
const map = (v: unknown, type: 'string' | 'number') =>
  v == null || (isObject(v) && Object.values(v).every((x) => typeof x === type));
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** Why `v` is not an images.json record this module can read, or undefined when it is one. */
function imageRecordProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'an image record is not an object';
  if (typeof v.id !== 'string' || !IMAGE_ID.test(v.id)) return 'an image record has no 64-hex id';
  const bad =
    (!optional(v.digest, 'string') && 'digest') ||
    (!strings(v.digests) && 'digests') ||
    (!strings(v.names) && 'names') ||
    (!optional(v.layer, 'string') && 'layer') ||
    (!strings(v['mapped-layers']) && 'mapped-layers') ||
    (!map(v['big-data-sizes'], 'number') && 'big-data-sizes') ||
    (!map(v['big-data-digests'], 'string') && 'big-data-digests') ||
    (!optional(v.created, 'string') && 'created');
  return bad ? `image ${v.id}: unexpected ${bad}` : undefined;
}

/** Why `v` is not a layers.json record this module can read, or undefined when it is one. */
function layerRecordProblem(v: unknown): string | undefined {
  if (!isObject(v) || typeof v.id !== 'string') return 'a layer record has no id';
  const bad =
    (!optional(v.parent, 'string') && 'parent') ||
    (!optional(v['diff-digest'], 'string') && 'diff-digest') ||
    (!optional(v['diff-size'], 'number') && 'diff-size');
  return bad ? `layer ${v.id}: unexpected ${bad}` : undefined;
}

/** Why the records could not answer (logged by the caller, which then asks podman). */
export interface RecordsMiss {
  reason: string;
}

/**
 * Every image in the store from its records, as `podman image list --format=json` reports them (one entry per
 * image: ID, names, repo digests, manifest digest, size, created); a miss when the records cannot say exactly.
 * `token` reads the store's change token: it must not move while both files are read.
 */
export function readImageRecords(storePath: string, token: () => string): ImageEntry[] | RecordsMiss {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = token();
    const result = readOnce(storePath);
    if (token() === before) return result;
  }
  return { reason: 'the store kept changing while its records were read' };
}

/** True when the answer is a miss rather than a list. */
export function isRecordsMiss(r: ImageEntry[] | RecordsMiss): r is RecordsMiss {
  return !Array.isArray(r);
}

function readOnce(storePath: string): ImageEntry[] | RecordsMiss {
  const imagesFile = join(storePath, 'overlay-images', 'images.json');
  const layersDir = join(storePath, 'overlay-layers');
  let images: ImageRecord[];
  const layers = new Map<string, LayerRecord>();
  try {
    if (!statSync(join(storePath, 'overlay-images')).isDirectory()) return { reason: 'no overlay-images' };
    images = parseRecords<ImageRecord>(readOptional(imagesFile), imageRecordProblem);
    for (const file of ['layers.json', 'volatile-layers.json'])
      for (const l of parseRecords<LayerRecord>(readOptional(join(layersDir, file)), layerRecordProblem))
        layers.set(l.id, l);
  } catch (err) {
    return { reason: `unreadable records: ${String(err)}` };
  }
  const entries: ImageEntry[] = [];
  for (const image of images) {
    // Every finished commit records its manifest's digest. Without one the commit stopped halfway (a full disk
    // failed its big data and then its own clean-up), and podman's list has its own view of such a record.
    if (!image.digest && !image['big-data-digests']?.manifest) {
      return { reason: `image ${image.id} has no manifest digest (a commit that did not finish)` };
    }
    const size = imageSize(image, layers);
    if (size === undefined) return { reason: `a layer size of image ${image.id} is not recorded` };
    const created = image.created ? Date.parse(image.created) : 0;
    if (Number.isNaN(created)) return { reason: `image ${image.id} has an unreadable creation time` };
    const names = [...new Set(image.names ?? [])];
    entries.push({
      id: image.id,
      names,
      digests: repoDigests(names, image),
      digest: image.digest ?? '',
      size,
      created: Math.floor(created / 1000),
    });
  }
  return hideIntermediate(entries, images, layers);
}

/** A file's text, or '' when it does not exist yet (a store nothing was ever written to). */
function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function parseRecords<T>(text: string, problem: (v: unknown) => string | undefined): T[] {
  if (text.trim() === '') return [];
  const records: unknown = JSON.parse(text);
  if (!Array.isArray(records)) throw new Error('the records are not a list');
  for (const r of records) {
    const why = problem(r);
    if (why) throw new Error(why);
  }
  return records as T[];
}

/**
 * c/storage's ImageSize: the uncompressed size of every layer in the image's chain (top layer and mapped top
 * layers, then parents), each counted once, plus the size of every big-data item (manifests, config, signatures).
 * Undefined when a layer's size is not recorded (c/storage would measure the layer's files then).
 */
function imageSize(image: ImageRecord, layers: ReadonlyMap<string, LayerRecord>): number | undefined {
  const queue = [image.layer ?? '', ...(image['mapped-layers'] ?? [])].filter((id) => id !== '');
  const seen = new Set<string>();
  let size = 0;
  while (queue.length > 0) {
    const id = queue.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const layer = layers.get(id);
    if (!layer) return undefined;
    const n = layer['diff-size'];
    if (!layer['diff-digest'] || n === undefined || n < 0) return undefined;
    size += n;
    if (layer.parent) queue.push(layer.parent);
  }
  for (const n of Object.values(image['big-data-sizes'] ?? {})) size += n;
  return size;
}

/**
 * libimage's RepoDigests: each name's repository with each manifest digest of the image, deduplicated, sorted.
 * The manifest digests are c/storage's: the recorded ones, the image's digest, and the digest of every stored
 * manifest (big-data items `manifest` and `manifest-<digest>`: one per registry manifest seen for this image).
 */
function repoDigests(names: readonly string[], image: ImageRecord): string[] {
  const manifests = Object.entries(image['big-data-digests'] ?? {})
    .filter(([key]) => key === 'manifest' || key.startsWith('manifest-'))
    .map(([, digest]) => digest);
  const digests = [...(image.digests ?? []), image.digest ?? '', ...manifests].filter((d) => d !== '');
  const out = new Set<string>();
  for (const name of names) {
    const repo = repositoryOf(name);
    for (const d of digests) out.add(`${repo}@${d}`);
  }
  return [...out].sort();
}

/** A stored name without its tag or digest (stored names are already fully qualified by c/storage). */
function repositoryOf(name: string): string {
  const at = name.indexOf('@');
  const base = at >= 0 ? name.slice(0, at) : name;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return colon > slash ? base.slice(0, colon) : base;
}

/**
 * `podman image list` without --all leaves out intermediate images: no names, and another image is built on top
 * of it (the other image's top layer descends from this one's top layer). Only image builds make them.
 */
function hideIntermediate(
  entries: ImageEntry[],
  images: readonly ImageRecord[],
  layers: ReadonlyMap<string, LayerRecord>,
): ImageEntry[] {
  const unnamedTops = new Map<string, string>();
  for (const image of images)
    if ((image.names ?? []).length === 0 && image.layer) unnamedTops.set(image.layer, image.id);
  if (unnamedTops.size === 0) return entries;
  const parents = new Set<string>();
  for (const image of images) {
    // The direct parent layer decides, as libimage's layer-tree lookup of an image's parent does.
    const parent = image.layer ? layers.get(image.layer)?.parent : undefined;
    const parentImage = parent ? unnamedTops.get(parent) : undefined;
    if (parentImage) parents.add(parentImage);
  }
  return entries.filter((e) => !parents.has(e.id));
}
