// The store's records read without podman must say exactly what `podman image list` says, on a real store that
// podman itself filled: built, multi-stage (an intermediate image), tagged, untagged (dangling), pulled by tag
// and by digest, removed.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRecordsMiss, readImageRecords } from '../../src/storage/image-records.js';
import { type ImageEntry, parseImageList } from '../../src/storage/parse-image-list.js';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

let work: { path: string; remove: () => void };
let registry: Registry;
let builder: ImageBuilder;

beforeAll(async () => {
  work = makeTempDir('bsd-records-');
  registry = await startRegistry({ dir: join(work.path, 'registry') });
  builder = createImageBuilder(work.path);
});

afterAll(async () => {
  await registry?.stop();
  // The overlay driver bind-mounts its own home over itself (privately): let go of it before removing.
  await run('umount', ['-l', join(builder.root, 'overlay')]).catch(() => undefined);
  work?.remove();
});

/** Entries in a stable order, names and digests sorted: the list's order is podman's business. */
function normalize(entries: readonly ImageEntry[]): ImageEntry[] {
  return [...entries]
    .map((e) => ({ ...e, names: [...e.names].sort(), digests: [...e.digests].sort() }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

async function expectSameAsPodman(): Promise<ImageEntry[]> {
  const fromPodman = parseImageList(await builder.podman(['image', 'list', '--format=json']));
  const fromRecords = readImageRecords(builder.root, () => 'fixed');
  if (isRecordsMiss(fromRecords)) throw new Error(`records missed: ${fromRecords.reason}`);
  expect(normalize(fromRecords)).toEqual(normalize(fromPodman));
  return fromRecords;
}

describe('image records', () => {
  it('a store nobody wrote to yet has no images, and no records to misread', () => {
    const empty = join(work.path, 'empty');
    mkdirSync(join(empty, 'overlay-images'), { recursive: true });
    expect(readImageRecords(empty, () => 'fixed')).toEqual([]);
  });

  it('matches podman through builds, tags, untags, digest pulls and removals', async () => {
    const repo = `${registry.host}/records/app`;
    await builder.buildAndPush(`${repo}:v1`, { bytes: 300 });
    await builder.buildAndPush(`${repo}:v2`, { bytes: 5000 });
    expect(await expectSameAsPodman()).toHaveLength(2);

    // A multi-stage build: its first stage stays behind as an unnamed image podman's list hides or shows.
    const ctx = join(work.path, 'multi');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'a'), randomBytes(100));
    writeFileSync(join(ctx, 'b'), randomBytes(200));
    writeFileSync(
      join(ctx, 'Containerfile'),
      'FROM scratch AS one\nCOPY a /a\nFROM scratch\nCOPY --from=one /a /a\nCOPY b /b\n',
    );
    await builder.podman(['build', '-q', '-t', `${repo}:multi`, ctx]);
    await expectSameAsPodman();

    // More names on one image, then a name taken away until the image is dangling.
    await builder.podman(['tag', `${repo}:v1`, `${repo}:extra`, 'localhost/other/name:x']);
    await expectSameAsPodman();
    await builder.podman(['untag', `${repo}:v2`]);
    const dangling = await expectSameAsPodman();
    expect(dangling.some((e) => e.names.length === 0)).toBe(true);

    // Pulled back by digest (the registry's: a push recompresses): repo digests follow from it.
    await builder.podman(['image', 'rm', '-f', `${repo}:v1`, `${repo}:extra`, 'localhost/other/name:x']);
    await builder.podman(['pull', '-q', '--tls-verify=false', `${repo}:v1`]);
    const digest = await builder.podman(['image', 'inspect', '--format', '{{.Digest}}', `${repo}:v1`]);
    await builder.podman(['image', 'rm', '-f', `${repo}:v1`]);
    await builder.podman(['pull', '-q', '--tls-verify=false', `${repo}@${digest.trim()}`]);
    await expectSameAsPodman();
    await builder.podman(['pull', '-q', '--tls-verify=false', `${repo}:v2`]);
    const pulled = await expectSameAsPodman();
    expect(pulled.some((e) => e.digests.length > 0)).toBe(true);

    await builder.podman(['image', 'rm', '-f', `${repo}:v2`]);
    await expectSameAsPodman();
  });

  it('misses rather than guesses when the store moves during every read', () => {
    let n = 0;
    const result = readImageRecords(builder.root, () => String(n++));
    expect(isRecordsMiss(result)).toBe(true);
  });
});
