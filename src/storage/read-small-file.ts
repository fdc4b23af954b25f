// Reading a small regular file that a hostile tree may have replaced with a FIFO, a device, a directory, a
// giant file or a symlink, without ever blocking the daemon: the name is checked first (so no FIFO or device
// is even opened), the open is O_NONBLOCK|O_NOCTTY (and O_NOFOLLOW unless links are wanted), the opened fd is
// checked again (the name may have changed in between), and at most the cap is read, whatever fstat said.

import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import { noteRead } from './read-record.js';

/** Why a file was not read: absent, a symlink (not followed), not a regular file, over the cap, an I/O error. */
export type SmallFileProblem = 'missing' | 'symlink' | 'not-a-file' | 'too-large' | 'unreadable';

/** The file's bytes, or why not, with a message that completes "`<path>` …" (no file content in it). */
export type SmallFile =
  | { ok: true; content: Buffer }
  | { ok: false; problem: SmallFileProblem; message: string; cause?: NodeJS.ErrnoException };

export interface SmallFileOptions {
  /** The most bytes the file may hold. */
  maxBytes: number;
  /** Follow a symlink at the last component (auth.json may be one); by default a symlink is refused. */
  followSymlinks?: boolean;
}

const CHUNK_BYTES = 64 * 1024;

function describe(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function check(st: Stats, maxBytes: number): Extract<SmallFile, { ok: false }> | undefined {
  if (st.isSymbolicLink()) return { ok: false, problem: 'symlink', message: 'is a symbolic link' };
  if (!st.isFile()) {
    return { ok: false, problem: 'not-a-file', message: `is not a regular file (${describe(st)})` };
  }
  if (st.size > maxBytes) {
    return { ok: false, problem: 'too-large', message: `is larger than ${maxBytes} bytes` };
  }
  return undefined;
}

function failed(err: unknown): Extract<SmallFile, { ok: false }> {
  const cause = err as NodeJS.ErrnoException;
  const missing = cause.code === 'ENOENT' || cause.code === 'ENOTDIR';
  return {
    ok: false,
    problem: missing ? 'missing' : 'unreadable',
    message: `cannot be read: ${cause.message}`,
    cause,
  };
}

/** Reads at most `maxBytes` from `fd`; undefined when there is more (a file that grew past the cap). */
function readCapped(fd: number, maxBytes: number): Buffer | undefined {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const room = maxBytes + 1 - total;
    if (room === 0) return undefined;
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, room));
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, n));
    total += n;
  }
}

/** One small regular file's bytes, never blocking on a FIFO or device and never past `maxBytes`; or why not. */
export function readSmallFile(path: string, opts: SmallFileOptions): SmallFile {
  const follow = opts.followSymlinks === true;
  noteRead(path);
  let fd: number;
  try {
    const bad = check(follow ? statSync(path) : lstatSync(path), opts.maxBytes);
    if (bad) return bad;
    const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
    fd = openSync(path, follow ? flags : flags | constants.O_NOFOLLOW);
  } catch (err) {
    return failed(err);
  }
  try {
    const bad = check(fstatSync(fd), opts.maxBytes);
    if (bad) return bad;
    const content = readCapped(fd, opts.maxBytes);
    if (content === undefined) {
      return { ok: false, problem: 'too-large', message: `is larger than ${opts.maxBytes} bytes` };
    }
    return { ok: true, content };
  } catch (err) {
    return failed(err);
  } finally {
    closeSync(fd);
  }
}

/** A small regular file's text (UTF-8), or undefined for anything else: for readers that skip what is odd. */
export function readSmallText(path: string, maxBytes: number): string | undefined {
  const r = readSmallFile(path, { maxBytes });
  return r.ok ? r.content.toString('utf8') : undefined;
}
