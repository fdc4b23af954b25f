// The ostree sysroot lock, `<sysroot>/ostree/lock`, taken exactly as libostree (and so bootc and rpm-ostree)
// take it through libglnx's glnx_make_lock_file: an open-file-description (OFD) write lock from fcntl(2), not
// flock(2), which would not conflict with theirs. Node has no fcntl, so it is called through koffi (FFI), loaded
// on first use. Waiting never blocks the main thread: a non-blocking F_OFD_SETLK is retried on a timer.

import { closeSync, constants, fstatSync, openSync, unlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { createError, isStorageError } from '../errors.js';
import { loadLibc } from '../process/libc.js';

/** The lock file, relative to the sysroot (libostree's OSTREE_SYSROOT_LOCKFILE). */
export const SYSROOT_LOCK_SUBPATH = 'ostree/lock';
/** How often a held lock is tried again, unless the caller says otherwise. */
export const DEFAULT_LOCK_POLL_MS = 100;

/** A held sysroot lock; the only way to give it back is release(). */
export interface SysrootLock {
  /** The lock file's path. */
  readonly path: string;
  /** Unlinks the lock file and closes it, as glnx_release_lock_file does for an exclusive holder; idempotent. */
  release(): void;
}

/** How long and how to wait for the lock; every field is optional. */
export interface AcquireSysrootLockOptions {
  /** Aborting stops the wait; the promise rejects with Canceled. */
  signal?: AbortSignal | undefined;
  /** Give up after this long (from the call) with SysrootLocked; undefined waits for as long as it takes. */
  timeoutMs?: number | undefined;
  /** Interval between attempts while another process holds the lock. */
  pollMs?: number | undefined;
  /** Called once, the first time the lock is found held by someone else (like ostree's "Waiting for sysroot lock..."). */
  onWaiting?: (() => void) | undefined;
}

// fcntl(2) commands and lock types: the same numbers on every Linux architecture.
const F_OFD_GETLK = 36;
const F_OFD_SETLK = 37;
const F_WRLCK = 1;
const F_UNLCK = 2;
// struct flock on LP64 Linux (x86_64, aarch64): short l_type; short l_whence; off_t l_start; off_t l_len;
// pid_t l_pid; plus 4 bytes of tail padding (offsets 0, 2, 8, 16, 24). Only l_type is ever non-zero here: l_pid
// must be 0 for OFD locks, and GETLK reports -1 there. Other layouts (32-bit, big-endian) are refused, not guessed.
const FLOCK_SIZE = 32;
const L_TYPE = 0;
const SUPPORTED_ARCHES: readonly string[] = ['x64', 'arm64'];

type Fcntl = (fd: number, cmd: number, lock: Buffer) => { rc: number; errno: number };
let fcntlPromise: Promise<Fcntl> | undefined;

/** Loads koffi and binds libc's variadic fcntl once; a failed load is retried on the next call. */
function loadFcntl(path: string): Promise<Fcntl> {
  if (process.platform !== 'linux' || !SUPPORTED_ARCHES.includes(process.arch)) {
    return Promise.reject(
      createError(
        'StorageFailure',
        `cannot take ${path}: the ostree sysroot lock is implemented for Linux on x64 and arm64 only, not ${process.platform}-${process.arch}`,
        { path, reason: 'unsupported-arch' },
      ),
    );
  }
  fcntlPromise ??= loadLibc()
    .then(({ koffi, libc }) => {
      const fn = libc.func('int fcntl(int fd, int cmd, ...)');
      // A variadic argument is passed as a (type, value) pair; a Buffer is passed as a pointer to its bytes,
      // which the kernel reads (SETLK) or fills (GETLK) in place.
      return (fd: number, cmd: number, lock: Buffer) => {
        const rc = fn(fd, cmd, 'void *', lock) as number;
        return { rc, errno: rc < 0 ? koffi.errno() : 0 };
      };
    })
    .catch((err: unknown) => {
      fcntlPromise = undefined;
      throw createError(
        'StorageFailure',
        `cannot take ${path}: the FFI module koffi could not be loaded: ${(err as Error).message}`,
        { path, reason: 'ffi-unavailable' },
        err,
      );
    });
  return fcntlPromise;
}

/** A struct flock for the whole file (l_whence SEEK_SET, l_start 0, l_len 0), l_pid 0 as OFD locks require. */
function wholeFileLock(type: number): Buffer {
  const buf = Buffer.alloc(FLOCK_SIZE);
  buf.writeInt16LE(type, L_TYPE);
  return buf;
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** Maps a failed open of the lock file to StorageFailure, naming a read-only sysroot as such. */
function openFailure(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const why =
    code === 'EROFS'
      ? 'the sysroot is read-only'
      : code === 'ENOENT'
        ? `${join(path, '..')} does not exist (not an ostree sysroot?)`
        : (err as Error).message;
  return createError('StorageFailure', `cannot open ${path}: ${why}`, { path, reason: code }, err);
}

function fcntlFailure(path: string, what: string, errno: number): Error {
  const code = errnoName(errno);
  return createError('StorageFailure', `cannot ${what} ${path}: fcntl failed with ${code}`, {
    path,
    reason: code,
  });
}

/** Waits ms, or rejects with Canceled as soon as the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined, path: string): Promise<void> {
  if (signal?.aborted) return Promise.reject(canceled(path));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(canceled(path));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function canceled(path: string): Error {
  return createError('Canceled', `canceled while waiting for ${path}`, { path });
}

/**
 * Takes `<sysroot>/ostree/lock` exclusively, as glnx_make_lock_file(LOCK_EX) does: open (creating it, mode 0600),
 * an OFD write lock on the whole file, then a retry if the previous holder had unlinked it (st_nlink 0). Rejects
 * with SysrootLocked after timeoutMs, Canceled on abort, StorageFailure when the file cannot be opened or locked.
 */
export async function acquireSysrootLock(
  sysroot: string,
  opts: AcquireSysrootLockOptions = {},
): Promise<SysrootLock> {
  const path = join(sysroot, SYSROOT_LOCK_SUBPATH);
  const { signal } = opts;
  const pollMs = Math.max(1, opts.pollMs ?? DEFAULT_LOCK_POLL_MS);
  const deadline = opts.timeoutMs === undefined ? undefined : performance.now() + opts.timeoutMs;
  if (signal?.aborted) throw canceled(path);
  const fcntl = await loadFcntl(path);
  let waited = false;
  for (;;) {
    if (signal?.aborted) throw canceled(path);
    let fd: number;
    try {
      // O_CLOEXEC as well: libuv adds it to every open, so no child (podman) inherits the lock.
      fd = openSync(
        path,
        constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NOCTTY,
        0o600,
      );
    } catch (err) {
      throw openFailure(path, err);
    }
    let held = false;
    try {
      for (;;) {
        const { rc, errno } = fcntl(fd, F_OFD_SETLK, wholeFileLock(F_WRLCK));
        if (rc === 0) break;
        if (errno !== osConstants.errno.EAGAIN && errno !== osConstants.errno.EACCES) {
          throw fcntlFailure(path, 'lock', errno);
        }
        if (!waited) {
          waited = true;
          opts.onWaiting?.();
        }
        const left = deadline === undefined ? pollMs : deadline - performance.now();
        if (left <= 0) {
          throw createError(
            'SysrootLocked',
            `${path} is held by another process (bootc, ostree or rpm-ostree deploying); gave up after ${opts.timeoutMs} ms`,
            { path },
          );
        }
        await pause(Math.min(pollMs, left), signal, path);
      }
      // The holder we waited for unlinked the file before closing it: this lock is on an orphaned inode that
      // the next process will not see, so start over with a fresh file.
      if (fstatSync(fd).nlink === 0) continue;
      held = true;
      return heldLock(path, fd);
    } catch (err) {
      if (isStorageError(err)) throw err;
      throw createError('StorageFailure', `cannot lock ${path}: ${(err as Error).message}`, { path }, err);
    } finally {
      if (!held) closeSync(fd);
    }
  }
}

function heldLock(path: string, fd: number): SysrootLock {
  let open = true;
  return {
    path,
    release() {
      if (!open) return;
      open = false;
      // Unlink first, then close: a waiter that already opened this inode gets the lock on an unlinked file,
      // sees st_nlink 0 and starts over, exactly as with libostree's own release.
      try {
        unlinkSync(path);
      } catch {
        // already gone (someone removed it by hand): closing still releases the lock
      }
      closeSync(fd);
    },
  };
}

/**
 * True when some open file description holds a conflicting lock on `<sysroot>/ostree/lock` (F_OFD_GETLK),
 * including one this process holds through acquireSysrootLock; false when the file does not exist.
 */
export async function isSysrootLockHeld(sysroot: string): Promise<boolean> {
  const path = join(sysroot, SYSROOT_LOCK_SUBPATH);
  const fcntl = await loadFcntl(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw openFailure(path, err);
  }
  try {
    const probe = wholeFileLock(F_WRLCK);
    const { rc, errno } = fcntl(fd, F_OFD_GETLK, probe);
    if (rc !== 0) throw fcntlFailure(path, 'query', errno);
    return probe.readInt16LE(L_TYPE) !== F_UNLCK;
  } finally {
    closeSync(fd);
  }
}
