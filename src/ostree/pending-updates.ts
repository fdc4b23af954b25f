// Updates fetched but not yet deployed: ostree-ext keeps each pulled container image as a commit under the ref
// `ostree/container/image/<escaped image reference>` in `<sysroot>/ostree/repo` (IMAGE_PREFIX in its
// container/store.rs), and `bootc upgrade --download-only` (or any fetch) leaves one there before anything is
// staged. A commit such a ref names that no deployment was made from is a pending update: its bound images can
// be pulled before it is staged, so bootc's own pull step finds them present.

import { lstatSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readSmallFile } from '../storage/read-small-file.js';
import { parseReference } from '../storage/reference.js';
import { readdirOrEmpty, registryReferenceOf } from './deployments.js';

/** The refs bootc's fetched images live under (ostree-ext's IMAGE_PREFIX). */
const IMAGE_REF_PREFIX = 'ostree/container/image';
const CHECKSUM = /^[0-9a-f]{64}$/;

/** One fetched, undeployed image. */
interface PendingUpdate {
  /** The commit's checksum: how ListDeployments, ListBoundImages and SyncBoundImages name it. */
  commit: string;
  /** The registry reference its ref names (`registry:quay.io/example/os:42` → canonical); '' for another transport. */
  hostImage: string;
}

/** The sysroot's repository. */
export function sysrootRepo(sysroot: string): string {
  return join(sysroot, 'ostree/repo');
}

/** Reverses ostree-ext's ref escaping: `_XX_` is the character with hex code XX, `__` is `_`. */
export function unescapeRefName(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '_') {
      if (!/[A-Za-z0-9/-]/.test(c))
        throw new Error(`invalid character ${JSON.stringify(c)} in an escaped ref`);
      out += c;
      continue;
    }
    if (s[i + 1] === '_') {
      out += '_';
      i += 1;
      continue;
    }
    const end = s.indexOf('_', i + 1);
    if (end === -1) throw new Error('an escape in the ref is not closed');
    out += String.fromCodePoint(Number.parseInt(s.slice(i + 1, end), 16));
    i = end;
  }
  return out;
}

/**
 * Walks the image refs' tree below refs/heads: `onDir` for every directory (an escaped reference keeps its
 * '/': one directory per segment), `onRef` for every ref file with its name relative to refs/heads. An
 * unreadable directory is skipped.
 */
function walkImageRefs(
  sysroot: string,
  onDir: (dir: string) => void,
  onRef: (ref: string, path: string) => void,
): void {
  const heads = join(sysrootRepo(sysroot), 'refs/heads');
  const walk = (rel: string, depth: number) => {
    const dir = join(heads, rel);
    let names: string[];
    try {
      names = readdirOrEmpty(dir).sort();
    } catch {
      return;
    }
    onDir(dir);
    for (const name of names) {
      const path = join(dir, name);
      if (!isDirectory(path)) onRef(`${rel}/${name}`, path);
      else if (depth < 16) walk(`${rel}/${name}`, depth + 1);
    }
  };
  walk(IMAGE_REF_PREFIX, 0);
}

/**
 * The directories a watch of the image refs needs: refs/heads down to ostree/container/image (which the
 * first fetch creates), and every directory below it.
 */
export function imageRefDirs(sysroot: string): string[] {
  const heads = join(sysrootRepo(sysroot), 'refs/heads');
  const dirs = [heads, join(heads, 'ostree'), join(heads, 'ostree/container')];
  walkImageRefs(
    sysroot,
    (d) => dirs.push(d),
    () => undefined,
  );
  return dirs;
}

/**
 * Every fetched image whose commit no deployment was made from (`deployments`: the deployment directories,
 * `<checksum>.<serial>`, as the caller already listed them), by ref name. Refs that cannot be read or
 * understood are skipped: an update that is not there is nothing to prepare, and the fetch that wrote it is
 * not this daemon's to judge.
 */
export function listPendingUpdates(sysroot: string, deployments: readonly string[]): PendingUpdate[] {
  const deployed = new Set(deployments.map((d) => basename(d).replace(/\.[0-9]+$/, '')));
  const found: PendingUpdate[] = [];
  walkImageRefs(
    sysroot,
    () => undefined,
    (ref, path) => {
      const read = readSmallFile(path, { maxBytes: 4096 });
      if (!read.ok) return;
      const commit = read.content.toString('utf8').trim();
      if (!CHECKSUM.test(commit) || deployed.has(commit)) return;
      try {
        found.push({
          commit,
          hostImage: hostImageOf(unescapeRefName(ref.slice(IMAGE_REF_PREFIX.length + 1))),
        });
      } catch {
        // not an escaping ostree-ext wrote: not one of its images
      }
    },
  );
  return found;
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function hostImageOf(image: string): string {
  const registry = registryReferenceOf(image);
  if (typeof registry !== 'string') return '';
  try {
    return parseReference(registry).canonical;
  } catch {
    return '';
  }
}
