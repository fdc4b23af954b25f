// The store's records as src/storage/image-records.ts reads them: a well-formed pair of images.json and
// layers.json gives podman's list entries; anything malformed is a miss with a reason (the caller then asks
// podman), never an exception or a guess. Equality with podman's own list is held by
// test/integration/image-records.test.ts on real stores.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { isRecordsMiss, readImageRecords } from '../../src/storage/image-records.js';
import { makeTempDir } from '../helpers/tmp.js';

const ID = 'a'.repeat(64);
const LAYER = 'b'.repeat(64);
const DIGEST = `sha256:${'c'.repeat(64)}`;

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('bsd-records-');
  mkdirSync(join(tmp.path, 'overlay-images'));
  mkdirSync(join(tmp.path, 'overlay-layers'));
});
afterEach(() => tmp.remove());

function write(images: unknown, layers: unknown) {
  writeFileSync(join(tmp.path, 'overlay-images', 'images.json'), JSON.stringify(images));
  writeFileSync(join(tmp.path, 'overlay-layers', 'layers.json'), JSON.stringify(layers));
}

const image = (extra: Record<string, unknown> = {}) => ({
  id: ID,
  digest: DIGEST,
  names: ['quay.io/a/b:1', 'quay.io/a/b:1'],
  layer: LAYER,
  'big-data-sizes': { manifest: 10 },
  'big-data-digests': { manifest: DIGEST },
  created: '2026-01-02T03:04:05Z',
  ...extra,
});
const layer = (extra: Record<string, unknown> = {}) => ({
  id: LAYER,
  'diff-digest': DIGEST,
  'diff-size': 100,
  ...extra,
});
const read = () => readImageRecords(tmp.path, () => 'fixed');

it('reads an image with its size (layers and big data), names, repo digests and creation time', () => {
  write([image()], [layer()]);
  expect(read()).toEqual([
    {
      id: ID,
      names: ['quay.io/a/b:1'],
      digests: [`quay.io/a/b@${DIGEST}`],
      digest: DIGEST,
      size: 110,
      created: Date.parse('2026-01-02T03:04:05Z') / 1000,
    },
  ]);
});

it('misses, with the reason, on every malformed record instead of throwing or guessing', () => {
  const cases: [unknown, unknown, RegExp][] = [
    // A commit that stopped halfway (a full disk): no manifest digest, and podman lists it its own way.
    [
      [image({ digest: undefined, 'big-data-sizes': {}, 'big-data-digests': {} })],
      [layer()],
      /no manifest digest/,
    ],
    [{ not: 'a list' }, [layer()], /not a list/],
    [[image({ id: 'short' })], [layer()], /no 64-hex id/],
    [['a string'], [layer()], /not an object/],
    [[image({ names: 'quay.io/a/b:1' })], [layer()], /unexpected names/],
    [[image({ names: [1] })], [layer()], /unexpected names/],
    [[image({ 'big-data-sizes': { manifest: '10' } })], [layer()], /unexpected big-data-sizes/],
    [[image({ created: 5 })], [layer()], /unexpected created/],
    [[image()], [layer({ 'diff-size': '100' })], /unexpected diff-size/],
    [[image()], [{ 'diff-size': 1 }], /layer record has no id/],
    [[image()], [layer({ 'diff-size': undefined })], /layer size .* not recorded/],
    [[image({ created: 'yesterday' })], [layer()], /unreadable creation time/],
  ];
  for (const [images, layers, reason] of cases) {
    write(images, layers);
    const r = read();
    expect(isRecordsMiss(r), JSON.stringify(images)).toBe(true);
    if (isRecordsMiss(r)) expect(r.reason).toMatch(reason);
  }
  writeFileSync(join(tmp.path, 'overlay-images', 'images.json'), '[{');
  const r = read();
  expect(isRecordsMiss(r) && r.reason).toMatch(/unreadable records/);
});

it('takes null for the lists and maps c/storage leaves empty', () => {
  write([image({ names: null, digests: null, 'mapped-layers': null, 'big-data-sizes': null })], [layer()]);
  const r = read();
  expect(isRecordsMiss(r) ? r.reason : r.map((e) => e.size)).toEqual([100]);
});
