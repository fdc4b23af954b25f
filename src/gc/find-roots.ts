// Garbage-collection roots, computed the way bootc computes them (boundimage.rs): for every deployment,
// the images named by the quadlet files linked from usr/lib/bootc/bound-images.d, plus the deployment's own
// host image from its .origin file. Any file that cannot be understood aborts the whole computation, so a
// typo can never make a bound image look unreferenced.

import { lstatSync, realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createError } from '../errors.js';
import { listDeployments, readdirOrEmpty, readHostImage } from '../ostree/deployments.js';
import { type Resolved, resolveInRoot } from '../storage/resolve-inside.js';
import { findPendingRoots } from './commit-bound-images.js';
import { BOUND_IMAGES_DIR, type GcRoot, parseQuadletImage, rootsError } from './quadlet.js';

export type { GcRoot } from './quadlet.js';
export { listDeployments, readHostImage };

/** All roots of all deployments; throws InvalidBoundImage naming the first bad file, NoRoots with no deployments. */
export function findGcRoots(sysroot: string): GcRoot[] {
  const deployments = listDeployments(sysroot);
  if (deployments.length === 0) {
    throw createError(
      'NoRoots',
      `no ostree deployments under ${join(sysroot, 'ostree/deploy')}; refusing to collect`,
    );
  }
  const roots: GcRoot[] = [];
  for (const deployment of deployments) {
    roots.push(...readBoundImages(deployment));
    const host = readHostImage(`${deployment}.origin`);
    if (host) roots.push({ image: host, source: `${deployment}.origin`, deployment, kind: 'host' });
  }
  // A fetched update not yet deployed: its bound images stay while its ref does (prepared before staging).
  roots.push(...findPendingRoots(sysroot, deployments));
  return roots;
}

/** The images a deployment's bound-images.d links name. */
export function readBoundImages(deployment: string): GcRoot[] {
  // The directory itself is resolved inside the deployment too: an image may ship it as a symlink, and an
  // absolute one must not list the running system's bound images in place of this deployment's.
  const found = resolveInRoot(deployment, BOUND_IMAGES_DIR, { escape: 'refuse' });
  if (!found.ok) {
    if (found.problem === 'missing') return []; // no bound images in this deployment
    throw rootsError(
      join(deployment, BOUND_IMAGES_DIR),
      `cannot be resolved inside the deployment (${describeProblem(found)})`,
    );
  }
  const dir = found.path;
  const roots: GcRoot[] = [];
  for (const name of readdirOrEmpty(dir).sort()) {
    const link = join(dir, name);
    const kind = name.endsWith('.image') ? 'Image' : name.endsWith('.container') ? 'Container' : undefined;
    if (!kind) continue;
    if (!lstatSync(link).isSymbolicLink()) throw rootsError(link, 'is not a symbolic link to a quadlet file');
    const target = resolveInsideRoot(deployment, link);
    const image = parseQuadletImage(target, kind);
    const file = `${BOUND_IMAGES_DIR}/${name}`;
    roots.push({
      image,
      source: link,
      deployment,
      kind: 'bound',
      file,
      quadlet: relative(deployment, target),
    });
  }
  return roots;
}

/** Resolves a symlink as if `root` were `/`, refusing anything that leaves it; the target is a regular file. */
function resolveInsideRoot(root: string, link: string): string {
  // A rollback deployment must be read from its own tree, never from the running system's.
  const r = resolveInRoot(root, relative(root, link), { escape: 'refuse' });
  if (!r.ok) {
    if (r.problem === 'escapes') throw rootsError(link, 'points outside the deployment');
    if (r.problem === 'loop') throw rootsError(link, 'has too many levels of symbolic links');
    if (r.problem === 'not-a-directory') {
      throw rootsError(link, `goes through ${relativeTo(root, r.at)}, which is not a directory`);
    }
    if (r.problem === 'missing') {
      throw rootsError(link, `points to ${relativeTo(root, r.at)}, which does not exist in the deployment`);
    }
    throw rootsError(link, `cannot be resolved: ${describeProblem(r)}`);
  }
  if (!lstatSync(r.path).isFile()) throw rootsError(link, 'does not point to a regular file');
  return r.path;
}

function describeProblem(r: Extract<Resolved, { ok: false }>): string {
  return r.cause ? `${r.cause.code ?? 'error'} at ${r.at}` : `${r.problem} at ${r.at}`;
}

function relativeTo(root: string, p: string): string {
  try {
    return `/${relative(realpathSync(root), p)}`;
  } catch {
    return p;
  }
}
