// Path resolution inside a deployment (or any tree) as if it were `/`: a deployment that is not booted must be
// read from its own files, never through the running system's. Every component is resolved here, so an
// absolute symlink anywhere on the way restarts at the root, not at the host's `/`.

import { lstatSync, readlinkSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { noteRead } from './read-record.js';

/** Symlinks followed in one resolution before it is a loop (the kernel's limit). */
export const MAX_SYMLINK_HOPS = 40;

export type Resolved =
  | { ok: true; path: string }
  | {
      ok: false;
      /** missing: ENOENT on the way; escapes: `..` above the root (refused); other: any other error. */
      problem: 'missing' | 'escapes' | 'loop' | 'not-a-directory' | 'other';
      /** The host path where resolution stopped. */
      at: string;
      cause?: NodeJS.ErrnoException;
    };

/**
 * Resolves `rel` under `root` as if `root` were `/`. `..` above the root is refused (`escapes`) or, with
 * `clamp`, stays at the root as in a chroot. The last component may be any file type; it is not followed
 * when it is a symlink only if `followLast` is false.
 */
export function resolveInRoot(
  root: string,
  rel: string,
  opts: { escape: 'refuse' | 'clamp'; followLast?: boolean } = { escape: 'refuse' },
): Resolved {
  const pending = rel.split('/');
  let resolved = root;
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved === root) {
        if (opts.escape === 'refuse') return { ok: false, problem: 'escapes', at: resolved };
        continue;
      }
      resolved = dirname(resolved);
      continue;
    }
    const next = join(resolved, part);
    noteRead(next); // a link replaced or a component removed later changes the answer
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(next);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { ok: false, problem: e.code === 'ENOENT' ? 'missing' : 'other', at: next, cause: e };
    }
    if (st.isSymbolicLink() && (pending.length > 0 || opts.followLast !== false)) {
      if (++hops > MAX_SYMLINK_HOPS) return { ok: false, problem: 'loop', at: next };
      let target: string;
      try {
        target = readlinkSync(next);
      } catch (err) {
        return { ok: false, problem: 'other', at: next, cause: err as NodeJS.ErrnoException };
      }
      if (isAbsolute(target)) resolved = root;
      pending.unshift(...target.split('/'));
      continue;
    }
    if (pending.some((p) => p !== '' && p !== '.') && !st.isDirectory()) {
      return { ok: false, problem: 'not-a-directory', at: next };
    }
    resolved = next;
  }
  return { ok: true, path: resolved };
}
