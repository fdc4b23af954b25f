// The space check's arithmetic against the real statfs of a directory.

import { statfsSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { assertSpaceFor, freeBytesAt, judgeSpace, SPACE_FACTOR } from '../../src/storage/free-space.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('bsd-space-');
});
afterEach(() => tmp.remove());

it('reads the bytes an unprivileged writer may use (bavail × bsize)', () => {
  const st = statfsSync(tmp.path);
  expect(freeBytesAt(tmp.path)).toBe(st.bavail * st.bsize);
});

it('needs twice the compressed bytes and keeps the reserve free', () => {
  const free = freeBytesAt(tmp.path);
  const fits = judgeSpace(tmp.path, 1000, 0);
  expect(fits).toMatchObject({ neededBytes: 1000 * SPACE_FACTOR, reserveBytes: 0, fits: true });
  expect(judgeSpace(tmp.path, 1000, free).fits).toBe(false); // the reserve is never used
  expect(judgeSpace(tmp.path, Math.ceil(free / 2) + 1024 * 1024, 0).fits).toBe(false);
  expect(() => assertSpaceFor('x', fits)).not.toThrow();
});

it('names needed, free and reserved bytes and the file system in NoSpace', () => {
  const v = judgeSpace(tmp.path, 5000, Number.MAX_SAFE_INTEGER);
  expect(v.fits).toBe(false);
  let err: (Error & { details: Record<string, unknown> }) | undefined;
  try {
    assertSpaceFor('example.com/a/b:1', v);
  } catch (e) {
    err = e as typeof err;
  }
  expect(err?.name).toBe('NoSpace');
  expect(err?.message).toContain('example.com/a/b:1');
  expect(err?.message).toContain('at least 10000 bytes');
  expect(err?.message).toContain(`${v.freeBytes} bytes free`);
  expect(err?.message).toContain(tmp.path);
  expect(err?.details).toMatchObject({ neededBytes: 10000, freeBytes: v.freeBytes, path: tmp.path });
  expect(typeof err?.details.mountPoint).toBe('string');
});
