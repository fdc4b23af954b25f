// A commit's files read from libostree's on-disk format, never checked out: the commit object names its root
// directory tree, each dirtree object lists its files (name → content object) and subdirectories, and in the
// sysroot's "bare" repository a file's content object is the file itself (a symlink is a symlink). Paths are
// resolved as if the commit were `/`: a symlink may point anywhere inside it, never out of it. Read-only; a
// repository of another mode, or a missing or malformed object, is an error naming what could not be read.

import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createError } from '../errors.js';
import { decodeGVariant, type GValue } from './gvariant.js';

const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';
const DIRTREE_TYPE = '(a(say)a(sayay))';
const MAX_LINKS = 40; // as the kernel's limit on symlinks in one lookup
const CHECKSUM = /^[0-9a-f]{64}$/;

/** What a path in a commit is: a regular file (its content object on disk), a directory (its dirtree). */
type CommitEntry = { kind: 'file'; object: string } | { kind: 'dir'; tree: string };

interface DirTree {
  files: Map<string, string>;
  dirs: Map<string, string>;
}

const hex = (v: GValue) => Buffer.from(v as number[]).toString('hex');

/** One commit of a repository, read lazily; dirtrees are kept once read (objects never change). */
export class CommitTree {
  private readonly trees = new Map<string, DirTree>();
  readonly root: string;

  constructor(
    readonly repo: string,
    readonly commit: string,
  ) {
    if (!CHECKSUM.test(commit)) throw this.failure(`${commit} is not a commit checksum`);
    const fields = decodeGVariant(this.object(commit, 'commit'), COMMIT_TYPE) as GValue[];
    this.root = hex(fields[6] ?? []);
    if (!CHECKSUM.test(this.root)) throw this.failure(`commit ${commit} has no root directory tree`);
  }

  /** The entry at `path` (absolute or relative to the commit's root), symlinks followed inside the commit. */
  lookup(path: string): CommitEntry | undefined {
    return this.resolve(path, 0);
  }

  /** The names in a directory of the commit (files and subdirectories), sorted; none for a missing one. */
  list(path: string): string[] {
    const e = this.lookup(path);
    if (e?.kind !== 'dir') return [];
    const t = this.tree(e.tree);
    return [...t.files.keys(), ...t.dirs.keys()].sort();
  }

  /** Whether `path` (not followed if it is the last component) is a symbolic link in the commit. */
  isSymlink(path: string): boolean {
    const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
    const name = parts.pop();
    const parent = this.resolve(parts.join('/'), 0);
    if (!name || parent?.kind !== 'dir') return false;
    const object = this.tree(parent.tree).files.get(name);
    return object !== undefined && lstatSync(this.objectPath(object, 'file')).isSymbolicLink();
  }

  private resolve(path: string, hops: number): CommitEntry | undefined {
    const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
    let at: CommitEntry = { kind: 'dir', tree: this.root };
    const walked: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      if (at.kind !== 'dir') return undefined;
      if (name === '..') {
        walked.pop(); // never above the commit's root
        at = this.resolve(walked.join('/'), hops) ?? at;
        continue;
      }
      const t = this.tree(at.tree);
      const sub = t.dirs.get(name);
      if (sub !== undefined) {
        at = { kind: 'dir', tree: sub };
        walked.push(name);
        continue;
      }
      const object = t.files.get(name);
      if (object === undefined) return undefined;
      const file = this.objectPath(object, 'file');
      if (!lstatSync(file).isSymbolicLink()) {
        at = { kind: 'file', object: file };
        walked.push(name);
        continue;
      }
      if (hops >= MAX_LINKS)
        throw this.failure(`too many levels of symbolic links at /${[...walked, name].join('/')}`);
      const target = readlinkSync(file);
      const rest = parts.slice(i + 1).join('/');
      const base = target.startsWith('/') ? target : posix.join('/', ...walked, target);
      return this.resolve(posix.join(base, rest), hops + 1);
    }
    return at;
  }

  private tree(checksum: string): DirTree {
    let t = this.trees.get(checksum);
    if (!t) {
      const [files, dirs] = decodeGVariant(this.object(checksum, 'dirtree'), DIRTREE_TYPE) as [
        GValue[],
        GValue[],
      ];
      t = {
        files: new Map(files.map((f) => [(f as GValue[])[0] as string, hex((f as GValue[])[1]!)])),
        dirs: new Map(dirs.map((d) => [(d as GValue[])[0] as string, hex((d as GValue[])[1]!)])),
      };
      this.trees.set(checksum, t);
    }
    return t;
  }

  private objectPath(checksum: string, kind: 'commit' | 'dirtree' | 'file'): string {
    return join(this.repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.${kind}`);
  }

  private object(checksum: string, kind: 'commit' | 'dirtree'): Buffer {
    const path = this.objectPath(checksum, kind);
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const mode = existsSync(join(this.repo, 'objects')) ? '' : ' (no objects: not an ostree repository)';
      throw this.failure(`cannot read ${kind} object ${checksum}: ${code}${mode}`);
    }
  }

  private failure(message: string) {
    return createError('InvalidBoundImage', `${this.repo}: ${message}`, { path: this.repo });
  }
}
