// Bound-image status, sync and the GC preview against real podman, a real docker-registry and real ostree
// deployments (booted, rollback and a staged one): presence as podman lists the store, a sync that pulls what is
// missing, and a preview that removes exactly what the real collection then removes.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncBoundImages } from '../../src/core/sync-bound-images.js';
import { createPresenceCheck, listBoundImages } from '../../src/gc/bound-images.js';
import { findGcRoots } from '../../src/gc/find-roots.js';
import { previewGarbageCollect } from '../../src/gc/gc-preview.js';
import { Job } from '../../src/jobs/job.js';
import { listDeploymentsWithRoles } from '../../src/ostree/deployment-roles.js';
import { parseReference } from '../../src/storage/reference.js';
import { Store } from '../../src/storage/store.js';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import {
  containerQuadlet,
  createSysroot,
  deploy,
  imageQuadlet,
  type OstreeDeployment,
  stage,
} from '../helpers/ostree-sysroot.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';
import { makeTempDir } from '../helpers/tmp.js';

let work: { path: string; remove: () => void };
let registry: Registry;
let builder: ImageBuilder;
let sb: Sandbox;
let store: Store;
let runDir: string;
const d: Record<'rollback' | 'booted' | 'staged', OstreeDeployment> = {} as never;
const ref: Record<string, string> = {};
const id: Record<string, string> = {};

beforeAll(async () => {
  work = makeTempDir('bsd-bound-it-');
  registry = await startRegistry({ dir: join(work.path, 'registry') });
  builder = createImageBuilder(work.path);
  sb = makeSandbox([registry.host]);
  runDir = join(work.path, 'host-run');
  createSysroot(sb.sysroot);
  const h = registry.host;
  Object.assign(ref, {
    db1: `${h}/app/db:1`,
    db2: `${h}/app/db:2`,
    web: `${h}/app/web:latest`,
    cache: `${h}/app/cache:1`,
    host: `${h}/os/host:42`,
    stale: `${h}/app/stale:1`,
  });
  for (const [k, r] of Object.entries(ref)) id[k] = await builder.buildAndPush(r);
  d.rollback = deploy(sb.sysroot, { quadlets: { 'db.image': imageQuadlet(ref.db1!) } });
  d.booted = deploy(sb.sysroot, {
    quadlets: { 'db.image': imageQuadlet(ref.db2!), 'web.container': containerQuadlet(`${h}/app/web`) },
    origin: `ostree-unverified-registry:${ref.host}`,
  });
  d.staged = await stage(sb.sysroot, runDir, {
    quadlets: { 'db.image': imageQuadlet(ref.db2!), 'cache.image': imageQuadlet(ref.cache!) },
  });
  store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
  for (const k of ['db2', 'web', 'host', 'stale']) await store.pull(parseReference(ref[k]!));
});

afterAll(async () => {
  store?.close();
  sb?.remove();
  await registry?.stop();
  work?.remove();
});

const opts = () => ({ rootPath: d.booted.dir, runDir });
const name = (x: OstreeDeployment) => `${x.checksum}.${x.serial}`;

describe('bound images on a real store', () => {
  it('lists roles and which bound images podman has', async () => {
    expect(
      listDeploymentsWithRoles(sb.sysroot, opts()).map((x) => [x.deployment, x.role, x.hostImage]),
    ).toEqual([
      [name(d.staged), 'staged', ''],
      [name(d.booted), 'booted', ref.host],
      [name(d.rollback), 'rollback', ''],
    ]);
    const bound = listBoundImages(sb.sysroot, createPresenceCheck(await store.list()), opts());
    expect(bound.map((b) => [b.deployment, b.image, b.present])).toEqual([
      [name(d.staged), ref.cache, false],
      [name(d.staged), ref.db2, true],
      [name(d.booted), ref.db2, true],
      [name(d.booted), ref.web, true], // named without a tag in its quadlet; podman stores :latest
      [name(d.rollback), ref.db1, false],
    ]);
  });

  it('syncs the staged deployment, then every deployment, pulling only what is missing', async () => {
    const sync = async (deployment: string) => {
      const job = new Job<string[]>({
        id: 1,
        kind: 'sync',
        target: deployment,
        owner: 0,
        key: 'sync',
        work: (ctx) =>
          syncBoundImages(
            {
              deployment,
              listDeployments: () => listDeploymentsWithRoles(sb.sysroot, opts()).map((x) => x.deployment),
              listBound: () => listBoundImages(sb.sysroot, () => false, opts()),
              isPresent: async (image) => createPresenceCheck(await store.list())(image),
              pullOne: async (image, _progress, signal) => {
                await store.pull(parseReference(image), { signal });
                return { fetched: true };
              },
            },
            ctx,
          ),
      });
      await job.run();
      return { pulled: await job.result, snapshot: job.snapshot() };
    };
    const first = await sync(name(d.staged));
    expect(first.pulled).toEqual([ref.cache]);
    expect(first.snapshot).toMatchObject({ state: 'done', itemsDone: 1, itemsTotal: 1, progress: 1 });
    expect((await sync('')).pulled).toEqual([ref.db1]);
    expect((await sync('')).pulled).toEqual([]);
    const isPresent = createPresenceCheck(await store.list());
    expect(listBoundImages(sb.sysroot, isPresent, opts()).every((b) => b.present)).toBe(true);
  });

  it('previews exactly what the collection removes, and why each image stays', async () => {
    const images = await store.list();
    const roots = findGcRoots(sb.sysroot);
    const preview = previewGarbageCollect(roots, images);
    const rootImages = roots.map((r) => r.image);
    const planned = await store.pruneExcept(rootImages, { dryRun: true });
    const removedByPreview = preview.filter((p) => !p.kept).map((p) => p.id);
    expect(removedByPreview).toEqual(planned);
    expect(removedByPreview).toEqual([id.stale]);
    const reasonOf = (k: string) => preview.find((p) => p.id === id[k])?.reason;
    expect(reasonOf('host')).toBe(`host image of ${name(d.booted)}`);
    expect(reasonOf('cache')).toBe(`bound by ${name(d.staged)} (usr/lib/bootc/bound-images.d/cache.image)`);
    expect(reasonOf('web')).toBe(`bound by ${name(d.booted)} (usr/lib/bootc/bound-images.d/web.container)`);
    expect(reasonOf('db2')?.split('; ').sort()).toEqual(
      [d.booted, d.staged].map((x) => `bound by ${name(x)} (usr/lib/bootc/bound-images.d/db.image)`).sort(),
    );
    // The real collection removes the same images, and keeps every image the preview keeps.
    expect((await store.pruneExcept(rootImages)).sort()).toEqual(removedByPreview.sort());
    expect((await store.list()).map((i) => i.id).sort()).toEqual(
      preview
        .filter((p) => p.kept)
        .map((p) => p.id)
        .sort(),
    );
  });
});
