// Makes a directory under a read-only /sysroot writable the way bootc and libostree do: only inside the
// daemon's own mount namespace (its launcher runs it under `unshare --mount`), never in the one it was started
// in. A read-only mount is lifted with a bind mount of the directory onto itself, remounted rw; a file system
// that is read-only itself (its superblock) is reported, never remounted.

import { accessSync, constants, realpathSync } from 'node:fs';
import { createError } from '../errors.js';
import { findExecutable } from '../process/find-executable.js';
import { runSupervised } from '../process/supervise.js';
import { currentMountNamespace, findMount, readMounts } from './mount-info.js';

/** Set by the launcher to the namespace it was started in, before it execs the daemon under `unshare --mount`. */
export const HOST_MNTNS_ENV = 'BOOTC_STORAGED_HOST_MNTNS';

/** True when this process runs in a mount namespace of its own: the launcher's differs from ours. */
export function inOwnMountNamespace(env: NodeJS.ProcessEnv = process.env): boolean {
  const host = env[HOST_MNTNS_ENV];
  if (!host) return false;
  try {
    return currentMountNamespace() !== host;
  } catch {
    return false;
  }
}

function isWritable(dir: string): NodeJS.ErrnoException | undefined {
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

const MOUNT_TIMEOUT_MS = 10_000;

async function runMount(args: string[]): Promise<void> {
  const mount = findExecutable('mount');
  if (!mount) {
    throw createError('ToolMissing', 'required program "mount" was not found on PATH', {
      program: 'mount',
    });
  }
  const r = await runSupervised(mount, args, { timeoutMs: MOUNT_TIMEOUT_MS, stderrTailChars: 64 * 1024 });
  if (r.exitCode === 0 && !r.spawnError) return;
  const why = r.spawnError?.message ?? `Command failed: ${[mount, ...args].join(' ')}`;
  throw createError('StorageFailure', `mount ${args.join(' ')} failed: ${r.stderrTail.trim() || why}`, {
    stderrTail: r.stderrTail.slice(-2048),
  });
}

/**
 * Ensures `dir` (an existing directory) can be written. Returns what it did; throws ReadOnlyFilesystem when the
 * file system itself is read-only, StoreUnavailable when only a mount is and we may not lift it here.
 */
export async function ensureWritable(
  dir: string,
  opts: { ownNamespace: boolean },
): Promise<'writable' | 'remounted'> {
  const err = isWritable(dir);
  if (!err) return 'writable';
  if (err.code !== 'EROFS') return 'writable'; // not a mount question: the write itself will name the cause
  const real = realpathSync(dir);
  const mount = findMount(readMounts(), real);
  const where = mount ? `${mount.source} on ${mount.mountPoint} (${mount.fsType})` : 'its file system';
  if (mount?.superOptions.includes('ro')) {
    throw createError(
      'ReadOnlyFilesystem',
      `${dir} is on a file system that is itself read-only (${where}); the image store cannot be written`,
      { path: dir, reason: 'read-only file system' },
    );
  }
  if (!opts.ownNamespace) {
    throw createError(
      'StoreUnavailable',
      `${dir} is on a read-only mount (${where}); the daemon makes it writable only in a mount namespace of its own, and it was not started in one (start it with its launcher, /usr/libexec/bootc-storaged)`,
      { path: dir, reason: 'read-only mount outside a private mount namespace' },
    );
  }
  // The same directory, mounted again onto itself, gets its own per-mount flags: rw here, while every other
  // namespace keeps seeing the read-only mount. Mounts made in our namespace never propagate out (slave).
  await runMount(['--bind', '--', real, real]);
  await runMount(['-o', 'remount,bind,rw', '--', real]);
  const again = isWritable(dir);
  if (again?.code === 'EROFS') {
    throw createError(
      'ReadOnlyFilesystem',
      `${dir} stays read-only after a writable bind mount (${where}): the file system itself refuses writes`,
      { path: dir, reason: 'read-only file system' },
    );
  }
  return 'remounted';
}
