// The deployments of an ostree sysroot as libostree lays them out on disk: every deployment directory
// (`ostree/deploy/<stateroot>/deploy/<checksum>.<serial>`) and the container image each was deployed from
// (its `.origin`). Any file that cannot be understood is InvalidBoundImage, naming it: garbage collection
// stops rather than count an unreadable deployment as one that roots nothing.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createError } from '../errors.js';
import { noteRead } from '../storage/read-record.js';
import { readSmallFile } from '../storage/read-small-file.js';
import { parseReference } from '../storage/reference.js';

/** An origin file is a short keyfile (even with rpm-ostree's package lists); anything larger is not one. */
const MAX_ORIGIN_BYTES = 1024 * 1024;
const DEPLOYMENT_RE = /^[0-9a-f]{64}\.[0-9]+$/;

function originError(file: string, message: string) {
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

/**
 * The host image of a deployment, from `container-image-reference=` in its origin file; undefined without
 * one. Anything else than a small regular file there (a FIFO, a device, a link, a directory, a giant file)
 * is InvalidBoundImage, never waited on or read: the collection stops rather than lose the host image.
 */
export function readHostImage(originFile: string): string | undefined {
  const read = readSmallFile(originFile, { maxBytes: MAX_ORIGIN_BYTES });
  if (!read.ok) {
    if (read.problem === 'missing') return undefined;
    throw originError(originFile, read.message);
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
      throw originError(originFile, `container-image-reference has an unknown form: ${value.slice(0, 100)}`);
    // A host image from another transport (oci:, containers-storage:, dir:) is not in a registry and cannot
    // be in this store: it roots nothing here, and must not stop the collection.
    if (ref === undefined) return undefined;
    try {
      return parseReference(ref).canonical;
    } catch (err) {
      throw originError(originFile, (err as Error).message);
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
export function readdirOrEmpty(dir: string): string[] {
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
