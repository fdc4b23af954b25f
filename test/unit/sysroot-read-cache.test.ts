// The deployment reads anyone may call (ListDeployments, ListBoundImages, PreviewGarbageCollect) walk the
// sysroot once and answer from that walk until something it read changes (issue 21: a flood of them must cost
// nothing). On real ostree sysroots: a new deployment, an undeploy, a quadlet or .origin edited in place, a
// link replaced each give a fresh answer; nothing changed gives the kept one, errors included.

import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listBound, listDeployments, previewCollection, sysrootReads } from '../../src/core/deployments.js';
import type { StorageService } from '../../src/core/storage-service.js';
import { ReadCache } from '../../src/storage/read-record.js';
import {
  deploy,
  imageQuadlet,
  makeMutable,
  makeTempSysroot,
  type OstreeDeployment,
  undeploy,
} from '../helpers/ostree-sysroot.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
let sysroot: string;
beforeEach(() => {
  tmp = makeTempSysroot('bsd-read-cache-');
  sysroot = tmp.path;
});
afterEach(() => {
  makeMutable(sysroot);
  tmp.remove();
});

const serviceFor = (root: string) =>
  ({
    handle: { sysroot: root },
    list: async () => [
      { id: 'a'.repeat(64), names: ['quay.io/app/db:1'], digests: [], digest: '', size: 1, created: 0 },
    ],
  }) as unknown as StorageService;

/** The quadlet a bound-images.d link names, inside the deployment (links may be absolute there). */
const quadletOf = (d: OstreeDeployment, name: string) =>
  join(d.dir, readlinkSync(join(d.dir, 'usr/lib/bootc/bound-images.d', name)));

describe('the deployment reads keep their walk until the sysroot changes', () => {
  it('answers from the kept walk while nothing changed, and afresh after each kind of change', async () => {
    const first = deploy(sysroot, {
      quadlets: { 'db.image': imageQuadlet('quay.io/app/db:1') },
      origin: 'ostree-unverified-registry:quay.io/os/host:1',
      mutable: true,
    });
    const service = serviceFor(sysroot);
    const reads = sysrootReads(service);
    for (let i = 0; i < 5; i++) expect(listDeployments(service)).toHaveLength(1);
    expect(reads.deployments.counts).toEqual({ computed: 1, cached: 4 });
    for (let i = 0; i < 5; i++) {
      expect((await listBound(service)).map((b) => [b.image, b.present])).toEqual([
        ['quay.io/app/db:1', true],
      ]);
      expect((await previewCollection(service)).map((e) => e.kept)).toEqual([true]);
    }
    expect(reads.bound.counts).toEqual({ computed: 1, cached: 4 });
    expect(reads.roots.counts).toEqual({ computed: 1, cached: 4 });

    // A quadlet edited in place (same size): the bound image changes, and presence follows the store.
    const quadlet = quadletOf(first, 'db.image');
    writeFileSync(quadlet, readFileSync(quadlet, 'utf8').replace('db:1', 'db:2'));
    expect((await listBound(service)).map((b) => [b.image, b.present])).toEqual([
      ['quay.io/app/db:2', false],
    ]);
    expect((await previewCollection(service)).map((e) => [e.kept, e.reason])).toEqual([
      [false, 'referenced by no deployment'],
    ]);

    // The .origin rewritten: the host image changes.
    writeFileSync(
      `${first.dir}.origin`,
      '[origin]\ncontainer-image-reference=ostree-unverified-registry:quay.io/os/host:2\n',
    );
    expect(listDeployments(service).map((d) => d.hostImage)).toEqual(['quay.io/os/host:2']);

    // A link in bound-images.d replaced by another: the new target is read.
    const links = join(first.dir, 'usr/lib/bootc/bound-images.d');
    writeFileSync(join(first.dir, 'usr/share/other.image'), imageQuadlet('quay.io/app/web:1'));
    rmSync(join(links, 'db.image'));
    symlinkSync('/usr/share/other.image', join(links, 'db.image'));
    expect((await listBound(service)).map((b) => b.image)).toEqual(['quay.io/app/web:1']);

    // A new deployment, then an undeploy: each is seen at once.
    const before = reads.deployments.counts.computed;
    deploy(sysroot, { quadlets: { 'db.image': imageQuadlet('quay.io/app/db:3') }, mutable: true });
    expect(listDeployments(service)).toHaveLength(2);
    expect((await listBound(service)).map((b) => b.image).sort()).toEqual([
      'quay.io/app/db:3',
      'quay.io/app/web:1',
    ]);
    undeploy(sysroot, 1);
    expect(listDeployments(service)).toHaveLength(1);
    expect(reads.deployments.counts.computed).toBe(before + 2);
  });

  it('keeps an error too, and answers afresh once the offending file is fixed', () => {
    const d = deploy(sysroot, { origin: 'ostree-unverified-registry:quay.io/os/host:1', mutable: true });
    const service = serviceFor(sysroot);
    rmSync(`${d.dir}.origin`);
    execFileSync('mkfifo', [`${d.dir}.origin`]);
    for (let i = 0; i < 3; i++)
      expect(() => listDeployments(service)).toThrow(expect.objectContaining({ name: 'InvalidBoundImage' }));
    expect(sysrootReads(service).deployments.counts).toEqual({ computed: 1, cached: 2 });
    rmSync(`${d.dir}.origin`);
    writeFileSync(
      `${d.dir}.origin`,
      '[origin]\ncontainer-image-reference=ostree-unverified-registry:quay.io/os/host:3\n',
    );
    expect(listDeployments(service).map((d) => d.hostImage)).toEqual(['quay.io/os/host:3']);
  });
});

describe('ReadCache', () => {
  it('never keeps an answer that read nothing (it could not tell a change)', () => {
    const cache = new ReadCache<number>();
    let n = 0;
    expect(cache.read(() => ++n)).toBe(1);
    expect(cache.read(() => ++n)).toBe(2);
    expect(cache.counts).toEqual({ computed: 2, cached: 0 });
  });

  it('sees a file that appears where there was none', async () => {
    const dir = makeTempDir('bsd-read-cache-run-');
    try {
      const { noteRead } = await import('../../src/storage/read-record.js');
      const cache = new ReadCache<boolean>();
      const marker = join(dir.path, 'staged');
      const look = () => {
        noteRead(marker);
        try {
          readFileSync(marker);
          return true;
        } catch {
          return false;
        }
      };
      expect(cache.read(look)).toBe(false);
      expect(cache.read(look)).toBe(false);
      writeFileSync(marker, 'x');
      expect(cache.read(look)).toBe(true);
      expect(cache.counts).toEqual({ computed: 2, cached: 1 });
    } finally {
      dir.remove();
    }
  });
});
