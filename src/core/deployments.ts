// What admin tools ask about deployments: each one's role and host image, which images each binds and whether
// they are here, what a garbage collection would keep and why, and a job that pulls the missing bound images
// (what bootc does before it stages an upgrade). Reads never wait behind a job; the sync is a job. Anyone may
// ask these reads, so each walk of the sysroot is kept until something it read changes (ReadCache: one lstat
// per path read decides): a flood of them costs those stats, not a walk each.

import { createError } from '../errors.js';
import { type BoundImage, createPresenceCheck, listBoundImages } from '../gc/bound-images.js';
import { findGcRoots, type GcRoot } from '../gc/find-roots.js';
import { type GcPreviewEntry, previewGarbageCollect } from '../gc/gc-preview.js';
import type { Job } from '../jobs/job.js';
import { type DeploymentInfo, listDeploymentsWithRoles } from '../ostree/deployment-roles.js';
import { ReadCache } from '../storage/read-record.js';
import { parseReference } from '../storage/reference.js';
import type { StorageService } from './storage-service.js';
import { syncBoundImages } from './sync-bound-images.js';

/** The last walk of each kind, per service (one per daemon). */
interface SysrootReads {
  deployments: ReadCache<DeploymentInfo[]>;
  bound: ReadCache<BoundImage[]>;
  roots: ReadCache<GcRoot[]>;
}
const readsOf = new WeakMap<StorageService, SysrootReads>();

/** The read caches of a service (exported for tests: their counts say what was computed). */
export function sysrootReads(service: StorageService): SysrootReads {
  let reads = readsOf.get(service);
  if (!reads) {
    reads = { deployments: new ReadCache(), bound: new ReadCache(), roots: new ReadCache() };
    readsOf.set(service, reads);
  }
  return reads;
}

/** Every deployment with its role (booted, staged, rollback, other) and host image, in boot order. */
export function listDeployments(service: StorageService): DeploymentInfo[] {
  const sysroot = service.handle.sysroot;
  return sysrootReads(service).deployments.read(() => listDeploymentsWithRoles(sysroot));
}

/** Every image every deployment binds, with whether the store has it (from the image view). */
export async function listBound(service: StorageService): Promise<BoundImage[]> {
  const isPresent = createPresenceCheck(await service.list());
  const sysroot = service.handle.sysroot;
  const bound = sysrootReads(service).bound.read(() => listBoundImages(sysroot, () => false));
  return bound.map((b) => ({ ...b, present: isPresent(b.image) }));
}

/** Every image in the store, whether GarbageCollect would keep it, and why: the dry run, explained. */
export async function previewCollection(service: StorageService): Promise<GcPreviewEntry[]> {
  const sysroot = service.handle.sysroot;
  const roots = sysrootReads(service).roots.read(() => findGcRoots(sysroot));
  return previewGarbageCollect(roots, await service.list());
}

/**
 * Queues (or joins) a job that pulls every missing image `deployment` binds ('' = every deployment), one
 * after another with per-image progress. An unknown deployment is refused before anything is queued.
 */
export function startSync(
  service: StorageService,
  deployment: string,
  owner: number,
  requester?: string,
): Job<string[]> {
  const sysroot = service.handle.sysroot;
  // Through the read caches, as the reads go: a sync asked for right after a listing walks nothing again.
  const names = () => listDeployments(service).map((d) => d.deployment);
  if (deployment !== '' && !names().includes(deployment)) {
    throw createError('NotFound', `no deployment ${JSON.stringify(deployment)} in ${sysroot}`, {
      input: deployment,
    });
  }
  return service.submit(
    'sync',
    deployment,
    `sync ${deployment}`,
    owner,
    async (ctx) => {
      // The store's images as the job starts, from the image view (current: it re-reads when anyone wrote);
      // each pull then checks again, as a `missing` pull does.
      let present: ((image: string) => boolean) | undefined;
      return syncBoundImages(
        {
          deployment,
          listDeployments: names,
          listBound: () => sysrootReads(service).bound.read(() => listBoundImages(sysroot, () => false)),
          isPresent: async (image) => {
            if (!present) {
              await service.openStore();
              present = createPresenceCheck(await service.list());
            }
            return present(image);
          },
          pullOne: (image, progress) => service.runPull(parseReference(image), 'missing', progress),
        },
        ctx,
      );
    },
    requester,
  );
}
