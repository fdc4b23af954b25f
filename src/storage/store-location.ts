// Where bootc's store lives on this sysroot, and making that place exist and writable before the store is
// created. Two layouts, as upstream: `ostree/bootc/storage` (ostree hosts), and on composefs hosts
// `composefs/bootc/storage` (composefs/ is 0700) with `ostree/bootc` a symlink to `../composefs/bootc`.
// Every later access goes through `ostree/bootc`; the link is followed, never replaced. Every path is
// resolved inside the sysroot (resolve-inside.ts: each component, absolute links from the sysroot, `..`
// never above it, a bounded number of hops), and the host's own walk of the same path must land on the same
// directory: a link anywhere on the way that leads out of the sysroot, or loops, is refused, never followed.

import { lstatSync, mkdirSync, readlinkSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, relative } from 'node:path';
import { createError, isStorageError } from '../errors.js';
import { resolveInRoot } from './resolve-inside.js';
import { ensureWritable } from './writable.js';

/** bootc's directory, relative to the sysroot; the store is `storage` inside it. */
export const BOOTC_SUBPATH = 'ostree/bootc';
/** The composefs layout's real home of bootc's directory, relative to the sysroot. */
export const COMPOSEFS_BOOTC_SUBPATH = 'composefs/bootc';
/** The link target upstream writes for `ostree/bootc` on composefs hosts. */
export const COMPOSEFS_LINK_TARGET = '../composefs/bootc';

export const STORE_LAYOUTS = ['auto', 'ostree', 'composefs'] as const;
export type StoreLayout = (typeof STORE_LAYOUTS)[number];

export interface StoreLocation {
  /** `<sysroot>/ostree/bootc/storage`: how the store is always reached (through the link on composefs). */
  storePath: string;
  /** The directory that really holds the store, resolved (`…/ostree/bootc` or `…/composefs/bootc`). */
  bootcDir: string;
  layout: 'ostree' | 'composefs';
}

/** The sysroot as given (for messages and the host's walk) and resolved (the root of every resolution). */
interface Sysroot {
  given: string;
  root: string;
  ownNamespace: boolean;
}

function kindOf(path: string): 'missing' | 'directory' | 'symlink' | 'other' {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
}

function unavailable(path: string, cause: string, reason: string) {
  return createError('StoreUnavailable', `the image store cannot be set up: ${path} ${cause}`, {
    path,
    reason,
  });
}

function hostRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * `rel` resolved inside the sysroot, or undefined when it (or a link on the way) leads to nothing yet. Throws
 * StoreUnavailable when it leaves the sysroot, loops, or goes through a file, or when the host, following the
 * same path from its own `/`, would land elsewhere (an absolute link, or one made dangerous by a later swap).
 */
function locate(s: Sysroot, rel: string): string | undefined {
  const shown = join(s.given, rel);
  const r = resolveInRoot(s.root, rel, { escape: 'refuse' });
  if (!r.ok) {
    if (r.problem === 'missing') return undefined;
    if (r.problem === 'escapes') {
      throw unavailable(shown, 'leads outside the sysroot through a symbolic link', 'link leaves sysroot');
    }
    if (r.problem === 'loop') {
      throw unavailable(shown, 'has too many levels of symbolic links (a loop)', 'link loop');
    }
    if (r.problem === 'not-a-directory') {
      throw unavailable(shown, `goes through ${r.at}, which is not a directory`, 'not a directory');
    }
    throw unavailable(shown, `cannot be resolved (${r.cause?.code ?? 'error'} at ${r.at})`, 'unresolvable');
  }
  const host = hostRealpath(shown);
  if (host !== r.path) {
    throw unavailable(
      shown,
      `leads outside the sysroot when followed from the host's / (to ${host ?? 'nothing'}, not ${r.path})`,
      'link leaves sysroot',
    );
  }
  return r.path;
}

/** `rel` as a directory inside the sysroot, created (0700) under its resolved parent when missing. */
async function ensureDir(s: Sysroot, rel: string): Promise<string> {
  const found = locate(s, rel);
  if (found !== undefined) {
    if (!statSync(found).isDirectory()) {
      throw unavailable(join(s.given, rel), 'exists but is not a directory', 'not a directory');
    }
    return found;
  }
  const parent = locate(s, dirname(rel));
  if (parent === undefined) throw unavailable(join(s.given, dirname(rel)), 'does not exist', 'missing');
  const dir = join(parent, basename(rel));
  // Missing but present by name: a dangling link, never replaced.
  if (kindOf(dir) !== 'missing') {
    throw unavailable(join(s.given, rel), 'exists but is not a directory', 'not a directory');
  }
  await ensureWritable(parent, { ownNamespace: s.ownNamespace });
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** bootc's directory behind `ostree/bootc` (a directory or a link), resolved; upstream's link target is made. */
async function locateBootcDir(s: Sysroot, entry: string): Promise<string> {
  let found = locate(s, BOOTC_SUBPATH);
  if (found === undefined) {
    const target = kindOf(entry) === 'symlink' ? readlinkSync(entry) : '';
    // Only upstream's own link may lead to nothing yet: its composefs/bootc is created inside the sysroot.
    if (isAbsolute(target) || normalize(join('ostree', target)) !== COMPOSEFS_BOOTC_SUBPATH) {
      throw unavailable(entry, `is a symbolic link to ${target}, which does not exist`, 'dangling link');
    }
    await ensureDir(s, 'composefs');
    await ensureDir(s, COMPOSEFS_BOOTC_SUBPATH);
    found = locate(s, BOOTC_SUBPATH);
    if (found === undefined) {
      throw unavailable(entry, `is a symbolic link to ${target}, which does not exist`, 'dangling link');
    }
  }
  if (found === s.root) {
    throw unavailable(entry, 'leads to the sysroot itself, outside the sysroot', 'link leaves sysroot');
  }
  if (!statSync(found).isDirectory()) throw unavailable(entry, 'is not a directory', 'not a directory');
  return found;
}

/**
 * Finds (or creates) bootc's directory on `sysroot` and makes it writable in this namespace. Throws
 * StoreUnavailable naming the path and the cause, or ReadOnlyFilesystem.
 */
export async function prepareStoreLocation(
  sysroot: string,
  opts: { layout?: StoreLayout; ownNamespace: boolean },
): Promise<StoreLocation> {
  const link = join(sysroot, BOOTC_SUBPATH);
  try {
    if (kindOf(sysroot) === 'missing') throw unavailable(sysroot, 'does not exist', 'no sysroot');
    const s: Sysroot = { given: sysroot, root: realpathSync(sysroot), ownNamespace: opts.ownNamespace };
    const ostreeDir = await ensureDir(s, 'ostree');
    const entry = join(ostreeDir, 'bootc'); // the link itself, by a path with no link on the way
    const kind = kindOf(entry);
    if (kind === 'missing') {
      const composefs =
        opts.layout === 'composefs' ||
        (opts.layout !== 'ostree' && kindOf(join(s.root, 'composefs')) === 'directory');
      if (composefs) {
        await ensureDir(s, 'composefs');
        await ensureDir(s, COMPOSEFS_BOOTC_SUBPATH);
        await ensureWritable(ostreeDir, { ownNamespace: opts.ownNamespace });
        symlinkSync(COMPOSEFS_LINK_TARGET, entry);
      } else {
        await ensureDir(s, BOOTC_SUBPATH);
      }
    } else if (kind === 'other') {
      throw unavailable(link, 'exists but is not a directory', 'not a directory');
    }
    const bootcDir = await locateBootcDir(s, entry);
    const layout = relative(s.root, bootcDir).startsWith('composefs/') ? 'composefs' : 'ostree';
    await ensureWritable(bootcDir, { ownNamespace: opts.ownNamespace });
    const storePath = join(link, 'storage');
    const store = locate(s, `${BOOTC_SUBPATH}/storage`);
    // Not there yet (created later), or a directory inside the sysroot; a dangling link is not replaced.
    const fits =
      store === undefined ? kindOf(join(bootcDir, 'storage')) === 'missing' : statSync(store).isDirectory();
    if (!fits) {
      throw unavailable(storePath, 'exists but is not a directory', 'not a directory');
    }
    return { storePath, bootcDir, layout };
  } catch (err) {
    if (isStorageError(err)) throw err;
    const e = err as NodeJS.ErrnoException;
    throw createError(
      'StoreUnavailable',
      `the image store cannot be set up under ${link}: ${e.message}`,
      { path: e.path ?? link, reason: e.code ?? 'error' },
      err,
    );
  }
}
