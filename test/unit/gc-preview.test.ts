// The GC preview against the prune itself: on the same image list, the images it marks removed are exactly
// those pruneImages' dry run plans to remove (real deployments, then random name sets with fast-check), and
// every kept image names the deployments and files that keep it.

import fc from 'fast-check';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findGcRoots, type GcRoot } from '../../src/gc/find-roots.js';
import { previewGarbageCollect, UNREFERENCED } from '../../src/gc/gc-preview.js';
import type { ImageEntry } from '../../src/storage/parse-image-list.js';
import { pruneImages, type RemovalContext } from '../../src/storage/removal.js';
import {
  containerQuadlet,
  deploy,
  imageQuadlet,
  makeTempSysroot,
  type OstreeDeployment,
} from '../helpers/ostree-sysroot.js';

const hex = (c: string) => c.repeat(64);
const image = (id: string, names: string[], digests: string[] = []): ImageEntry => ({
  id,
  names,
  digests,
  digest: '',
  size: 1,
  created: 0,
});

/** The prune's own plan: pruneImages in dry-run mode over a store that lists `images` and removes nothing. */
function planPrune(roots: readonly GcRoot[], images: readonly ImageEntry[]): Promise<string[]> {
  const store: RemovalContext = {
    list: async () => images.map((i) => ({ ...i, names: [...i.names], digests: [...i.digests] })),
    rm: () => Promise.reject(new Error('a dry run must not remove')),
    log: pino({ level: 'silent' }),
  };
  return pruneImages(
    store,
    roots.map((r) => r.image),
    { dryRun: true },
  );
}

const removedBy = (preview: ReturnType<typeof previewGarbageCollect>) =>
  preview.filter((p) => !p.kept).map((p) => p.id);

describe('previewGarbageCollect on real deployments', () => {
  let tmp: { path: string; remove: () => void };
  beforeEach(() => {
    tmp = makeTempSysroot('bsd-preview-');
  });
  afterEach(() => tmp.remove());
  const name = (d: OstreeDeployment) => `${d.checksum}.${d.serial}`;

  it('keeps what the deployments bind and their host images, with reasons; agrees with the prune plan', async () => {
    const pinned = `sha256:${hex('d')}`;
    const rollback = deploy(tmp.path, {
      quadlets: {
        'db.image': imageQuadlet('quay.io/app/db:1'),
        'web.container': containerQuadlet('docker.io/nginx'),
      },
      origin: 'ostree-unverified-registry:quay.io/os/host:41',
    });
    const booted = deploy(tmp.path, {
      boundImagesDirLink: '/usr/share/bootc-bound-images',
      quadlets: {
        'db.image': imageQuadlet('quay.io/app/db:2'),
        'web.container': containerQuadlet('docker.io/library/nginx:latest'),
        'pinned.image': imageQuadlet(`quay.io/app/pinned@${pinned}`),
      },
      origin: 'ostree-unverified-registry:quay.io/os/host:42',
    });
    const images = [
      image(hex('1'), ['quay.io/app/db:2', 'quay.io/app/db:latest']), // one bound name of two
      image(hex('2'), ['quay.io/app/db:1']),
      image(hex('3'), ['docker.io/library/nginx:latest']), // bound by both
      image(hex('4'), ['quay.io/os/host:42']),
      image(hex('5'), ['quay.io/app/pinned:v3'], [`quay.io/app/pinned@${pinned}`]), // kept by its digest
      image(hex('6'), ['quay.io/app/stale:1']),
      image(hex('7'), []), // dangling
      image(hex('8'), ['quay.io/os/host:40']),
    ];
    const roots = findGcRoots(tmp.path);
    const preview = previewGarbageCollect(roots, images);
    const [b, r] = [name(booted), name(rollback)];
    const link = (f: string) => `usr/lib/bootc/bound-images.d/${f}`;
    expect(preview.map((p) => [p.id, p.kept, p.reason])).toEqual([
      [hex('1'), true, `bound by ${b} (${link('db.image')})`],
      [hex('2'), true, `bound by ${r} (${link('db.image')})`],
      [
        hex('3'),
        true,
        [`bound by ${b} (${link('web.container')})`, `bound by ${r} (${link('web.container')})`]
          .sort()
          .join('; '),
      ],
      [hex('4'), true, `host image of ${b}`],
      [hex('5'), true, `bound by ${b} (${link('pinned.image')})`],
      [hex('6'), false, UNREFERENCED],
      [hex('7'), false, UNREFERENCED],
      [hex('8'), false, UNREFERENCED],
    ]);
    expect(preview[0]?.names).toEqual(['quay.io/app/db:2', 'quay.io/app/db:latest']);
    expect(removedBy(preview)).toEqual(await planPrune(roots, images));
  });

  it('orders the reasons of an image as its roots come (deployment order, then file order)', () => {
    const roots: GcRoot[] = [
      {
        image: 'quay.io/a/b:1',
        source: '/s/ostree/deploy/d/deploy/x.0.origin',
        deployment: '/s/ostree/deploy/d/deploy/x.0',
      },
      {
        image: 'quay.io/a/b:1',
        source: '/s/ostree/deploy/d/deploy/y.0/usr/lib/bootc/bound-images.d/b.image',
        deployment: '/s/ostree/deploy/d/deploy/y.0',
      },
      {
        image: 'quay.io/a/b:1',
        source: '/s/ostree/deploy/d/deploy/x.0.origin',
        deployment: '/s/ostree/deploy/d/deploy/x.0',
      },
    ];
    // Roots made without the kind/file fields (older callers) are described from their source path.
    expect(previewGarbageCollect(roots, [image(hex('1'), ['quay.io/a/b:1'])])[0]?.reason).toBe(
      'host image of x.0; bound by y.0 (usr/lib/bootc/bound-images.d/b.image)',
    );
  });
});

describe('previewGarbageCollect refuses what the prune refuses', () => {
  const catchName = async (f: () => unknown) => {
    try {
      await f();
    } catch (err) {
      return (err as Error).name;
    }
    return 'no error';
  };

  it('no roots: NoRoots (GC of deployments that bind nothing removes nothing)', async () => {
    const images = [image(hex('1'), ['quay.io/a/b:1'])];
    expect(await catchName(() => previewGarbageCollect([], images))).toBe('NoRoots');
    expect(await catchName(() => planPrune([], images))).toBe('NoRoots');
  });

  it('a root that is not a reference: InvalidReference', async () => {
    const roots = [{ image: 'alpine', source: 'x', deployment: 'y' }];
    expect(await catchName(() => previewGarbageCollect(roots, []))).toBe('InvalidReference');
    expect(await catchName(() => planPrune(roots, []))).toBe('InvalidReference');
  });
});

describe('previewGarbageCollect = the prune plan, for random stores and roots', () => {
  // Few repositories, tags and digests, so that roots and names collide often; several spellings of one name.
  const repos = [
    'quay.io/a/db',
    'docker.io/library/alpine',
    'docker.io/alpine',
    'index.docker.io/alpine',
    'localhost:5000/x',
  ];
  const tags = ['1', '2', 'latest'];
  const digests = ['a', 'b', 'c'].map((c) => `sha256:${hex(c)}`);
  const reference = fc
    .tuple(
      fc.constantFrom(...repos),
      fc.option(fc.constantFrom(...tags)),
      fc.option(fc.constantFrom(...digests)),
    )
    .map(
      ([repo, tag, digest]) =>
        `${repo}${tag === null ? '' : `:${tag}`}${digest === null ? '' : `@${digest}`}`,
    );
  const storedName = fc.oneof(
    fc.tuple(fc.constantFrom(...repos), fc.constantFrom(...tags)).map(([r, t]) => `${r}:${t}`),
    fc.constant('not a registry name'),
  );
  const repoDigest = fc
    .tuple(fc.constantFrom(...repos), fc.constantFrom(...digests))
    .map(([r, d]) => `${r}@${d}`);
  const store = fc
    .array(fc.tuple(fc.array(storedName, { maxLength: 3 }), fc.array(repoDigest, { maxLength: 2 })), {
      maxLength: 12,
    })
    .map((list) => list.map(([names, ds], i) => image(i.toString(16).padStart(64, '0'), names, ds)));
  const roots = fc
    .array(fc.tuple(reference, fc.constantFrom('x.0', 'y.1'), fc.boolean()), { minLength: 1, maxLength: 8 })
    .map((list) =>
      list.map(([ref, d, host]): GcRoot => {
        const deployment = `/s/ostree/deploy/os/deploy/${d}`;
        return host
          ? { image: ref, source: `${deployment}.origin`, deployment, kind: 'host' }
          : {
              image: ref,
              source: `${deployment}/f`,
              deployment,
              kind: 'bound',
              file: 'usr/lib/bootc/bound-images.d/f.image',
            };
      }),
    );

  it('marks removed exactly the images the prune removes, and gives every kept image a reason', async () => {
    await fc.assert(
      fc.asyncProperty(roots, store, async (r, images) => {
        const preview = previewGarbageCollect(r, images);
        expect(preview.map((p) => p.id)).toEqual(images.map((i) => i.id));
        expect(removedBy(preview)).toEqual(await planPrune(r, images));
        for (const p of preview) expect(p.kept).toBe(p.reason !== UNREFERENCED);
      }),
      { numRuns: 500 },
    );
  });
});
