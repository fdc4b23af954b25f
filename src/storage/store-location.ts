// Where bootc's store lives on this sysroot, and making that place exist and writable before the store is
// created. Two layouts, as upstream: `ostree/bootc/storage` (ostree hosts), and on composefs hosts
// `composefs/bootc/storage` (composefs/ is 0700) with `ostree/bootc` a symlink to `../composefs/bootc`.
// Every later access goes through `ostree/bootc`; the link is followed, never replaced.

import { lstatSync, mkdirSync, readlinkSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createError, isStorageError } from '../errors.js';
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

/** Creates `dir` (0700) when missing, after making its parent writable in our namespace. */
async function ensureDir(dir: string, ownNamespace: boolean): Promise<void> {
  const kind = kindOf(dir);
  if (kind === 'directory') return;
  if (kind === 'symlink' && statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return;
  if (kind !== 'missing') throw unavailable(dir, 'exists but is not a directory', 'not a directory');
  await ensureWritable(dirname(dir), { ownNamespace });
  mkdirSync(dir, { mode: 0o700 });
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
    let kind = kindOf(link);
    let layout: 'ostree' | 'composefs' = 'ostree';
    if (kind === 'missing') {
      const composefs =
        opts.layout === 'composefs' ||
        (opts.layout !== 'ostree' && kindOf(join(sysroot, 'composefs')) === 'directory');
      await ensureDir(join(sysroot, 'ostree'), opts.ownNamespace);
      if (composefs) {
        await ensureDir(join(sysroot, 'composefs'), opts.ownNamespace);
        await ensureDir(join(sysroot, COMPOSEFS_BOOTC_SUBPATH), opts.ownNamespace);
        await ensureWritable(join(sysroot, 'ostree'), { ownNamespace: opts.ownNamespace });
        symlinkSync(COMPOSEFS_LINK_TARGET, link);
        kind = 'symlink';
      } else {
        await ensureDir(link, opts.ownNamespace);
        kind = 'directory';
      }
    }
    if (kind === 'symlink') {
      // Resolved as the host would, but it must stay inside the sysroot: never a store elsewhere.
      const target = readlinkSync(link);
      const inside = target.startsWith('/') ? join(sysroot, target) : resolve(dirname(link), target);
      const rel = relative(resolve(sysroot), inside);
      if (rel.startsWith('..') || rel === '') {
        throw unavailable(
          link,
          `is a symbolic link to ${target}, outside the sysroot`,
          'link leaves sysroot',
        );
      }
      if (kindOf(inside) === 'missing') {
        if (rel !== COMPOSEFS_BOOTC_SUBPATH) {
          throw unavailable(link, `is a symbolic link to ${target}, which does not exist`, 'dangling link');
        }
        await ensureDir(join(sysroot, 'composefs'), opts.ownNamespace);
        await ensureDir(inside, opts.ownNamespace);
      }
      layout = rel.startsWith('composefs/') ? 'composefs' : 'ostree';
    } else if (kind !== 'directory') {
      throw unavailable(link, 'exists but is not a directory', 'not a directory');
    }
    const bootcDir = realpathSync(link);
    if (!statSync(bootcDir).isDirectory()) throw unavailable(link, 'is not a directory', 'not a directory');
    await ensureWritable(bootcDir, { ownNamespace: opts.ownNamespace });
    const storePath = join(link, 'storage');
    const store = kindOf(storePath);
    if (store === 'other' || (store === 'symlink' && !statSync(storePath).isDirectory())) {
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
