// Every bound image of every deployment, read exactly as garbage collection reads them (find-roots.ts), with
// whether the store has it: the per-deployment status an admin checks before rebooting into a deployment.

import { type DeploymentRoleOptions, listDeploymentsWithRoles } from '../ostree/deployment-roles.js';
import { sysrootRepo } from '../ostree/pending-updates.js';
import { findImage } from '../storage/image-match.js';
import type { ImageEntry } from '../storage/parse-image-list.js';
import { parseReference } from '../storage/reference.js';
import { readCommitBoundImages } from './commit-bound-images.js';
import { readBoundImages } from './find-roots.js';

/** One image bound by one deployment. */
export interface BoundImage {
  /** Canonical reference, as GC roots it (`docker.io/library/nginx:latest`). */
  image: string;
  /** `<checksum>.<serial>` of the deployment that binds it, or the commit checksum of a pending update. */
  deployment: string;
  /**
   * The link that binds it, relative to the deployment: `usr/lib/bootc/bound-images.d/<name>` (what an admin
   * adds or removes to bind or unbind, even when bound-images.d itself is a symlink elsewhere).
   */
  file: string;
  /** The quadlet file that link resolves to, relative to the deployment: where its `Image=` line is. */
  quadlet: string;
  /** Whether the store has it, as `isPresent` answered. */
  present: boolean;
}

/**
 * For every deployment (in listDeploymentsWithRoles' order), every bound image, with `isPresent(image)`.
 * Throws InvalidBoundImage naming the first file that cannot be understood, as GC does.
 */
export function listBoundImages(
  sysroot: string,
  isPresent: (image: string) => boolean,
  opts: DeploymentRoleOptions = {},
): BoundImage[] {
  const found: BoundImage[] = [];
  for (const d of listDeploymentsWithRoles(sysroot, opts)) {
    const roots =
      d.role === 'pending'
        ? readCommitBoundImages(sysrootRepo(sysroot), d.deployment)
        : readBoundImages(d.path);
    for (const root of roots) {
      found.push({
        image: root.image,
        deployment: d.deployment,
        file: root.file ?? root.source,
        quadlet: root.quadlet ?? '',
        present: isPresent(root.image),
      });
    }
  }
  return found;
}

/**
 * "Is this image in the store?" over one listing, matched as Exists and a `missing` pull match (findImage):
 * a digest-pinned reference needs that digest. Prune keeps more (the tag or the digest), so an image present
 * here is never one GC removes.
 */
export function createPresenceCheck(images: readonly ImageEntry[]): (image: string) => boolean {
  return (image) => findImage(images, parseReference(image)) !== undefined;
}
