// Garbage-collection roots, computed the way bootc computes them (boundimage.rs): for every deployment,
// the images named by the quadlet files linked from usr/lib/bootc/bound-images.d, plus the deployment's own
// host image from its .origin file. Any file that cannot be understood aborts the whole computation, so a
// typo can never make a bound image look unreferenced.

import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createError } from '../errors.js';
import { noteRead } from '../storage/read-record.js';
import { readSmallFile } from '../storage/read-small-file.js';
import { parseReference } from '../storage/reference.js';
import { type Resolved, resolveInRoot } from '../storage/resolve-inside.js';

export const BOUND_IMAGES_DIR = 'usr/lib/bootc/bound-images.d';
/** Quadlet files are small; anything larger is refused rather than read. */
const MAX_QUADLET_BYTES = 256 * 1024;
/** An origin file is a short keyfile (even with rpm-ostree's package lists); anything larger is not one. */
const MAX_ORIGIN_BYTES = 1024 * 1024;
const DEPLOYMENT_RE = /^[0-9a-f]{64}\.[0-9]+$/;

export interface GcRoot {
  /** Normalized image reference. */
  image: string;
  /** The file that named it. */
  source: string;
  deployment: string;
  /** What made it a root: a bound-images.d link, or the deployment's own host image (its .origin). */
  kind?: 'bound' | 'host';
  /** A bound image's link as the deployment names it: `usr/lib/bootc/bound-images.d/<name>`. */
  file?: string;
  /** The quadlet file that link resolves to, relative to the deployment (where its `Image=` is). */
  quadlet?: string;
}

function rootsError(file: string, message: string) {
  return createError('InvalidBoundImage', `${file}: ${message}`, { path: file });
}

/** Every deployment directory: `<sysroot>/ostree/deploy/<stateroot>/deploy/<checksum>.<serial>`. */
export function listDeployments(sysroot: string): string[] {
  const deployRoot = join(sysroot, 'ostree/deploy');
  const found: string[] = [];
  for (const stateroot of readdirOrEmpty(deployRoot)) {
    const dir = join(deployRoot, stateroot, 'deploy');
    for (const name of readdirOrEmpty(dir)) {
      if (DEPLOYMENT_RE.test(name) && isDirectory(join(dir, name))) found.push(join(dir, name));
    }
  }
  return found.sort();
}

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

/** Reads `Image=` from the `[Image]` or `[Container]` section of a quadlet file (systemd unit syntax). */
export function parseQuadletImage(file: string, section: 'Image' | 'Container'): string {
  const read = readSmallFile(file, { maxBytes: MAX_QUADLET_BYTES });
  if (!read.ok) throw rootsError(file, read.message);
  const text = read.content.toString('utf8');
  let current = '';
  let image: string | undefined;
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq === -1) throw rootsError(file, `line ${i + 1} is neither a section nor a key=value`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (current !== section) continue;
    if (section === 'Image' && key === 'AuthFile') {
      throw rootsError(file, 'AuthFile= is not supported for bound images (bootc uses the host auth.json)');
    }
    if (key === 'Image') image = expandSpecifiers(file, unquote(value));
  }
  if (image === undefined) throw rootsError(file, `has no Image= in its [${section}] section`);
  try {
    return parseReference(image).canonical;
  } catch (err) {
    throw rootsError(file, `Image=${JSON.stringify(image.slice(0, 100))}: ${(err as Error).message}`);
  }
}

/** `%%` is a literal `%`; any other systemd specifier cannot be resolved for a bound image. */
function expandSpecifiers(file: string, value: string): string {
  return value.replace(/%(.|$)/g, (_m, c: string) => {
    if (c === '%') return '%';
    throw rootsError(file, `Image= uses the specifier %${c}, which bound images do not support`);
  });
}

function unquote(v: string): string {
  return v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))
    ? v.slice(1, -1)
    : v;
}

/**
 * The host image of a deployment, from `container-image-reference=` in its origin file; undefined without
 * one. Anything else than a small regular file there (a FIFO, a device, a link, a directory, a giant file)
 * is InvalidBoundImage, never waited on or read: the collection stops rather than lose the host image.
 */
export function readHostImage(originFile: string): string | undefined {
  const read = readSmallFile(originFile, { maxBytes: MAX_ORIGIN_BYTES });
  if (!read.ok) {
    if (read.problem === 'missing') return undefined;
    throw rootsError(originFile, read.message);
  }
  const text = read.content.toString('utf8');
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'origin' || !line.startsWith('container-image-reference=')) continue;
    const value = line.slice('container-image-reference='.length).trim();
    const ref = registryReferenceOf(value);
    if (ref === null)
      throw rootsError(originFile, `container-image-reference has an unknown form: ${value.slice(0, 100)}`);
    // A host image from another transport (oci:, containers-storage:, dir:) is not in a registry and cannot
    // be in this store: it roots nothing here, and must not stop the collection.
    if (ref === undefined) return undefined;
    try {
      return parseReference(ref).canonical;
    } catch (err) {
      throw rootsError(originFile, (err as Error).message);
    }
  }
  return undefined; // an ostree-commit deployment (no container image): it has no host image root
}

/**
 * The registry reference inside an ostree-rs-ext image reference: a string for a registry image, undefined
 * for an image from another transport, null for a form we do not know.
 */
export function registryReferenceOf(value: string): string | undefined | null {
  let rest: string;
  if (value.startsWith('ostree-unverified-registry:'))
    return value.slice('ostree-unverified-registry:'.length);
  if (value.startsWith('ostree-remote-registry:')) {
    rest = value.slice('ostree-remote-registry:'.length); // <remote>:<ref>
    return rest.slice(rest.indexOf(':') + 1);
  }
  if (value.startsWith('ostree-unverified-image:')) rest = value.slice('ostree-unverified-image:'.length);
  else if (value.startsWith('ostree-image-signed:')) rest = value.slice('ostree-image-signed:'.length);
  else if (value.startsWith('ostree-remote-image:')) {
    rest = value.slice('ostree-remote-image:'.length); // <remote>:<transport>:<ref>
    rest = rest.slice(rest.indexOf(':') + 1);
  } else rest = value;
  if (rest.startsWith('docker://')) return rest.slice('docker://'.length);
  if (/^(registry|docker):/.test(rest)) return rest.slice(rest.indexOf(':') + 1);
  if (/^(oci|oci-archive|containers-storage|dir|docker-archive|docker-daemon):/.test(rest)) return undefined;
  return null;
}

/**
 * A directory's entries; a missing one has none. Any other error (EACCES, ELOOP, EIO, ENOTDIR) aborts the
 * collection: an unreadable deployment must never count as one that binds nothing.
 */
function readdirOrEmpty(dir: string): string[] {
  noteRead(dir);
  try {
    return readdirSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return [];
    throw createError(
      'InvalidBoundImage',
      `${dir} cannot be read (${e.code ?? e.message}); nothing removed`,
      {
        path: dir,
        reason: e.code,
      },
    );
  }
}

function isDirectory(p: string): boolean {
  noteRead(p);
  try {
    return statSync(p).isDirectory();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return false;
    throw createError('InvalidBoundImage', `${p} cannot be read (${e.code ?? e.message}); nothing removed`, {
      path: p,
      reason: e.code,
    });
  }
}

function relativeTo(root: string, p: string): string {
  try {
    return `/${relative(realpathSync(root), p)}`;
  } catch {
    return p;
  }
}
