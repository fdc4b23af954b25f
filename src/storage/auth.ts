// Registry credentials for podman: only the sysroot's own ostree auth.json, handed over as an anonymous file
// descriptor. Contents are never logged and never written to a named path.

import { constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createError } from '../errors.js';
import { readSmallFile } from './read-small-file.js';

/** Lookup order, first found wins (ostree-ext's get_global_authfile). */
export const AUTH_FILE_CANDIDATES = [
  'run/ostree/auth.json',
  'etc/ostree/auth.json',
  'usr/lib/ostree/auth.json',
];

/** auth.json files are small; anything larger is refused rather than read into memory. */
const MAX_AUTH_FILE_BYTES = 1024 * 1024;

// Linux O_TMPFILE (__O_TMPFILE | O_DIRECTORY): an inode with no name at all. Node does not export it.
const O_TMPFILE = 0o20200000;

export interface AuthSource {
  /** Absolute path of the file used, or undefined when none exists (podman then gets `{}`). */
  path: string | undefined;
  /** The bytes to hand to podman. */
  content: Buffer;
}

/** Finds the sysroot's auth.json (run > etc > usr/lib) and checks it is a JSON object without ever echoing it. */
export function readAuthSource(authRoot: string): AuthSource {
  for (const rel of AUTH_FILE_CANDIDATES) {
    const path = join(authRoot, rel);
    // Symlinks are followed (bootc documents linking a shared credentials file here); what is opened must
    // still be a small regular file, checked on the fd itself, and a FIFO must never stall the daemon.
    const read = readSmallFile(path, { maxBytes: MAX_AUTH_FILE_BYTES, followSymlinks: true });
    if (!read.ok) {
      if (read.problem === 'missing') continue;
      if (read.problem === 'unreadable' && read.cause) throw read.cause;
      throw createError('AuthFileInvalid', `${path} ${read.message}`, { path });
    }
    const content = read.content;
    let parsed: unknown;
    try {
      parsed = JSON.parse(content.toString('utf8'));
    } catch {
      // The parser's message can quote the file's content: never pass it on.
      throw createError('AuthFileInvalid', `${path} is not valid JSON`, { path });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw createError('AuthFileInvalid', `${path} does not hold a JSON object`, { path });
    }
    return { path, content };
  }
  return { path: undefined, content: Buffer.from('{}') };
}

/** Writes `content` into a file with no name in `dir` and returns its fd (close it after the child starts). */
export function createAnonymousFile(dir: string, content: Buffer): number {
  let fd: number;
  try {
    fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    // Filesystems without O_TMPFILE: create exclusively, then unlink at once so no name outlives this call.
    const path = join(dir, `.auth-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    unlinkSync(path);
  }
  let off = 0;
  while (off < content.length) off += writeSync(fd, content, off, content.length - off);
  return fd;
}
