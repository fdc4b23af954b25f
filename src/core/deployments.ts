// What admin tools ask about deployments: each one's role and host image, which images each binds and whether
// they are here, what a garbage collection would keep and why, and a job that pulls the missing bound images
// (what bootc does before it stages an upgrade). Reads never wait behind a job; the sync is a job.

import { createError } from '../errors.js';
import { type BoundImage, createPresenceCheck, listBoundImages } from '../gc/bound-images.js';
import { type DeploymentInfo, listDeploymentsWithRoles } from '../gc/deployment-roles.js';
import { findGcRoots } from '../gc/find-roots.js';
import { type GcPreviewEntry, previewGarbageCollect } from '../gc/gc-preview.js';
import type { Job } from '../jobs/job.js';
import { parseReference } from '../storage/reference.js';
import type { StorageService } from './storage-service.js';
import { syncBoundImages } from './sync-bound-images.js';

/** Every deployment with its role (booted, staged, rollback, other) and host image, in boot order. */
export function listDeployments(service: StorageService): DeploymentInfo[] {
  return listDeploymentsWithRoles(service.handle.sysroot);
}

/** Every image every deployment binds, with whether the store has it (from the image view). */
export async function listBound(service: StorageService): Promise<BoundImage[]> {
  const isPresent = createPresenceCheck(await service.list());
  return listBoundImages(service.handle.sysroot, isPresent);
}

/** Every image in the store, whether GarbageCollect would keep it, and why: the dry run, explained. */
export async function previewCollection(service: StorageService): Promise<GcPreviewEntry[]> {
  const roots = findGcRoots(service.handle.sysroot);
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
  const names = () => listDeploymentsWithRoles(sysroot).map((d) => d.deployment);
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
          listBound: () => listBoundImages(sysroot, () => false),
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
