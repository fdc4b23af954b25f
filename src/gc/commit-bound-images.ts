// The bound images of a fetched, undeployed update, read from its commit (ostree/commit-tree.ts) exactly as a
// deployment's are read from its directory (find-roots.ts): each usr/lib/bootc/bound-images.d/*.image or
// *.container link, resolved inside the commit, and its quadlet's Image=. What cannot be understood is an
// InvalidBoundImage naming the commit and the path, as for a deployment.

import { createError } from '../errors.js';
import { CommitTree } from '../ostree/commit-tree.js';
import { listPendingUpdates, sysrootRepo } from '../ostree/pending-updates.js';
import { BOUND_IMAGES_DIR, type GcRoot, parseQuadletImage } from './quadlet.js';

/** The roots a pending update's commit binds; `deployment` of each is the commit's checksum. */
export function readCommitBoundImages(repo: string, commit: string): GcRoot[] {
  const tree = new CommitTree(repo, commit);
  const where = (path: string) => `commit ${commit}:/${path}`;
  const dir = tree.lookup(BOUND_IMAGES_DIR);
  if (!dir) return [];
  if (dir.kind !== 'dir') throw failure(where(BOUND_IMAGES_DIR), 'is not a directory');
  const roots: GcRoot[] = [];
  for (const name of tree.list(BOUND_IMAGES_DIR)) {
    const kind = name.endsWith('.image') ? 'Image' : name.endsWith('.container') ? 'Container' : undefined;
    if (!kind) continue;
    const file = `${BOUND_IMAGES_DIR}/${name}`;
    if (!tree.isSymlink(file)) throw failure(where(file), 'is not a symbolic link to a quadlet file');
    const target = tree.lookup(file);
    if (!target) throw failure(where(file), 'points to a file that does not exist in the commit');
    if (target.kind !== 'file') throw failure(where(file), 'does not point to a regular file');
    roots.push({
      image: parseQuadletImage(target.object, kind, where(file)),
      source: where(file),
      deployment: commit,
      kind: 'bound',
      file,
      quadlet: '',
    });
  }
  return roots;
}

/**
 * The bound images of every pending update of `sysroot` (GC keeps them while their refs exist); `deployments`
 * are its deployment directories, as the caller listed them.
 */
export function findPendingRoots(sysroot: string, deployments: readonly string[]): GcRoot[] {
  return listPendingUpdates(sysroot, deployments).flatMap((u) =>
    readCommitBoundImages(sysrootRepo(sysroot), u.commit),
  );
}

function failure(what: string, message: string) {
  return createError('InvalidBoundImage', `${what}: ${message}`, { path: what });
}
