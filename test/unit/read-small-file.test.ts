// The one reader of small files a hostile tree may hold (origin files, quadlets, boot entries, /run records,
// auth.json): a regular file up to the cap, or a named reason; links only when asked for. FIFOs and endless
// devices are the find-roots tests' (in a child process, so a regression cannot hang this runner).

import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSmallFile, readSmallText, type SmallFileOptions } from '../../src/storage/read-small-file.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir('bsd-small-');
});
afterEach(() => tmp.remove());

const problem = (path: string, opts: SmallFileOptions = { maxBytes: 8 }) => {
  const r = readSmallFile(path, opts);
  return r.ok ? 'ok' : r.problem;
};

describe('readSmallFile', () => {
  it('reads a regular file up to the cap, and refuses one byte more', () => {
    writeFileSync(join(tmp.path, 'eight'), '12345678');
    writeFileSync(join(tmp.path, 'nine'), '123456789');
    expect(readSmallText(join(tmp.path, 'eight'), 8)).toBe('12345678');
    expect(problem(join(tmp.path, 'nine'))).toBe('too-large');
    expect(readSmallText(join(tmp.path, 'nine'), 8)).toBeUndefined();
  });

  it('names a missing file, a directory and a device, never reading them', () => {
    mkdirSync(join(tmp.path, 'dir'));
    expect(problem(join(tmp.path, 'absent'))).toBe('missing');
    expect(problem(join(tmp.path, 'absent/below'))).toBe('missing');
    expect(problem(join(tmp.path, 'dir'))).toBe('not-a-file');
    const dev = readSmallFile('/dev/null', { maxBytes: 8 });
    expect(dev).toMatchObject({ ok: false, problem: 'not-a-file' });
    expect(dev.ok ? '' : dev.message).toBe('is not a regular file (a character device)');
  });

  it('refuses a symlink unless links are wanted, and then still checks what it leads to', () => {
    writeFileSync(join(tmp.path, 'file'), 'x');
    symlinkSync('file', join(tmp.path, 'link'));
    symlinkSync('/dev/zero', join(tmp.path, 'zero'));
    expect(problem(join(tmp.path, 'link'))).toBe('symlink');
    const followed = readSmallFile(join(tmp.path, 'link'), { maxBytes: 8, followSymlinks: true });
    expect(followed.ok && followed.content.toString()).toBe('x');
    expect(problem(join(tmp.path, 'zero'), { maxBytes: 8, followSymlinks: true })).toBe('not-a-file');
  });
});
