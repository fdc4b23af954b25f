// Who is at the other end of a unix socket: SO_PEERCRED (pid, uid, gid, as the kernel recorded them at connect
// time) through koffi, since Node cannot ask, and the process's start time, which with the pid names the
// process to polkit (a `unix-process` subject) even if the pid is reused later.

import { readFileSync } from 'node:fs';
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

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
type GetSockOpt = (fd: number, level: number, name: number, buf: Buffer, len: number[]) => number;
let getsockoptPromise: Promise<GetSockOpt> | undefined;

/** Loads koffi and binds getsockopt once (lazily: only Varlink peers need it). */
function loadGetSockOpt(): Promise<GetSockOpt> {
  getsockoptPromise ??= loadLibc().then(({ libc }) =>
    libc.func('int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)'),
  );
  getsockoptPromise.catch(() => {
    getsockoptPromise = undefined;
  });
  return getsockoptPromise;
}

/** The start time of a process, from /proc (the field after the parenthesized command may hold spaces). */
export function readStartTime(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return BigInt(fields[19] ?? '0'); // field 22 overall; fields[0] here is field 3 (state)
}

/** The peer of a connected unix socket; AccessDenied when the kernel cannot say (the peer is unknown). */
export async function readPeerProcess(socket: Socket): Promise<PeerProcess> {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw createError('AccessDenied', 'the caller could not be identified');
  let getsockopt: GetSockOpt;
  try {
    getsockopt = await loadGetSockOpt();
  } catch (err) {
    throw createError('AccessDenied', 'the caller could not be identified (no FFI)', {}, err);
  }
  const buf = Buffer.alloc(12);
  const len = [12];
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0 || len[0] !== 12) {
    throw createError('AccessDenied', 'the caller could not be identified');
  }
  const pid = buf.readInt32LE(0);
  const peer = { pid, uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8), startTime: 0n };
  try {
    peer.startTime = readStartTime(pid);
  } catch (err) {
    throw createError('AccessDenied', 'the caller has gone', {}, err);
  }
  return peer;
}
