// Who is at the other end of a Varlink connection, bound once when it is accepted and checked on every call.
// SO_PEERCRED gives the pid, uid and gid the kernel recorded at connect(); with the process's start time the
// pid names the process to polkit (a `unix-process` subject). A pid alone can come to name another process:
// the one that connected may hand the socket to a child and exit, and its pid be given to a root process. So
// the binding also holds a pidfd of the connecting process (SO_PEERPIDFD, Linux ≥ 6.5), which never names
// another process, and every call first asks whether that process still lives; a kernel without it gets the
// start time read at accept, compared with /proc again on every call. A connection whose connecting process
// is gone is never authorized as anyone (server.ts closes it). koffi (libc.ts) makes the calls Node lacks.

import { closeSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createError } from '../errors.js';
import { loadLibc } from '../process/libc.js';

/** A connected peer as polkit's unix-process subject wants it. */
export interface PeerProcess {
  pid: number;
  uid: number;
  gid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot at which the process started. */
  startTime: bigint;
}

/** A peer bound at accept: the process that connected, and whether it still is that process. */
export interface BoundPeer extends PeerProcess {
  /** How the binding is kept: a pidfd of the process, or only its start time (older kernels). */
  readonly via: 'pidfd' | 'start-time';
  /** True while the process that connected is alive; never true for another process given its pid. */
  isCurrent(): boolean;
  /** Lets go of the pidfd once the connection is over (idempotent). */
  release(): void;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERPIDFD = 77;
const POLLIN = 0x1;

interface PeerCalls {
  getsockopt(fd: number, level: number, name: number, buf: Buffer, len: number[]): number;
  poll(fds: Buffer, nfds: number, timeout: number): number;
}
let calls: PeerCalls | undefined;
let loading: Promise<void> | undefined;

/** Binds getsockopt and poll through koffi, once; bindPeer needs it done (the Varlink transport awaits it). */
export function loadPeerCredentials(): Promise<void> {
  loading ??= loadLibc().then(({ libc }) => {
    calls = {
      getsockopt: libc.func('int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)'),
      poll: libc.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)'),
    };
  });
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/** The start time of a process, from /proc (the field after the parenthesized command may hold spaces). */
export function readStartTime(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return BigInt(fields[19] ?? '0'); // field 22 overall; fields[0] here is field 3 (state)
}

/** Whether the process behind a pidfd has exited: the pidfd turns readable then. */
function hasExited(c: PeerCalls, pidfd: number): boolean {
  const fds = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  fds.writeInt32LE(pidfd, 0);
  fds.writeInt16LE(POLLIN, 4);
  const n = c.poll(fds, 1, 0);
  return n !== 0 || (fds.readInt16LE(6) & POLLIN) !== 0; // an error counts as gone: fail closed
}

/** A pidfd of the connected peer, or undefined where the kernel has no SO_PEERPIDFD. */
function peerPidfd(c: PeerCalls, fd: number): number | undefined {
  const buf = Buffer.alloc(4);
  const len = [4];
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, buf, len) !== 0 || len[0] !== 4) return undefined;
  const pidfd = buf.readInt32LE(0);
  return pidfd >= 0 ? pidfd : undefined;
}

/**
 * The peer of a freshly accepted unix socket, read synchronously so nothing can change between connect and
 * the binding; AccessDenied when the kernel cannot say or the connecting process has already gone.
 * `loadPeerCredentials()` must have resolved.
 */
export function bindPeer(socket: Socket): BoundPeer {
  const c = calls;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!c) throw createError('AccessDenied', 'the caller could not be identified (no FFI)');
  if (typeof fd !== 'number' || fd < 0)
    throw createError('AccessDenied', 'the caller could not be identified');
  const buf = Buffer.alloc(12);
  const len = [12];
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0 || len[0] !== 12)
    throw createError('AccessDenied', 'the caller could not be identified');
  const pid = buf.readInt32LE(0);
  const uid = buf.readUInt32LE(4);
  const gid = buf.readUInt32LE(8);
  const pidfd = peerPidfd(c, fd);
  let released = false;
  const release = () => {
    if (released || pidfd === undefined) return;
    released = true;
    closeSync(pidfd);
  };
  let startTime: bigint;
  try {
    startTime = readStartTime(pid);
  } catch (err) {
    release();
    throw createError('AccessDenied', 'the caller has gone', {}, err);
  }
  // With a pidfd: the process was alive after its start time was read, so that start time is its own.
  const isCurrent =
    pidfd !== undefined
      ? () => !released && !hasExited(c, pidfd)
      : () => {
          try {
            return readStartTime(pid) === startTime;
          } catch {
            return false;
          }
        };
  if (!isCurrent()) {
    release();
    throw createError('AccessDenied', 'the caller has gone');
  }
  return { pid, uid, gid, startTime, via: pidfd !== undefined ? 'pidfd' : 'start-time', isCurrent, release };
}
