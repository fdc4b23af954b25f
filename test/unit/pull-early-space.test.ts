// The space check and the pull: with little room the pull waits for the registry's size and a pull that
// cannot fit never starts; with ample room (> 16 GiB past the reserve) it starts at once, and the size
// answer, checked as it comes, stops a pull that cannot fit with NoSpace.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { freeBytesAt } from '../../src/storage/free-space.js';
import type { RemoteSizeAnswer } from '../../src/storage/store.js';
import { STORE_SUBPATH, Store } from '../../src/storage/store.js';
import { newQueue, startPullJob } from '../helpers/pull-job.js';
import { makeTempDir } from '../helpers/tmp.js';

const GiB = 1024 ** 3;
let tmp: { path: string; remove: () => void };
let store: Store;
beforeEach(() => {
  tmp = makeTempDir('bsd-early-space-');
  mkdirSync(join(tmp.path, 'sysroot', STORE_SUBPATH), { recursive: true });
  store = Store.open({
    sysroot: join(tmp.path, 'sysroot'),
    run: join(tmp.path, 'run'),
    env: {
      PATH: `${resolve(__dirname, 'fake-bin')}:${process.env.PATH}`,
      FAKE_LOG: join(tmp.path, 'log'),
      FAKE_PULL_HANG: '1', // the pull runs until stopped
    },
    killGraceMs: 200,
  });
});
afterEach(() => {
  store.close();
  tmp.remove();
});

const pulls = () =>
  existsSync(join(tmp.path, 'log'))
    ? readFileSync(join(tmp.path, 'log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"pull"')).length
    : 0;

/** A size answer that comes after 300 ms: far more than the store's file system holds. */
const hugeLater = () =>
  new Promise<RemoteSizeAnswer>((r) =>
    setTimeout(() => r({ size: { bytes: Number.MAX_SAFE_INTEGER / 4, layers: 1 } }), 300),
  );

/** The same answer, given only once podman's pull has started (however long the job took to get there). */
const hugeOncePulling = () =>
  new Promise<RemoteSizeAnswer>((r) => {
    const poll = setInterval(() => {
      if (pulls() === 0) return;
      clearInterval(poll);
      r({ size: { bytes: Number.MAX_SAFE_INTEGER / 4, layers: 1 } });
    }, 20);
  });

it('with ample room: starts at once, then stops with NoSpace', async () => {
  // "Ample" set to 1 byte past the reserve, so the test runs on any disk (the default is 16 GiB).
  const p = startPullJob(newQueue(), store, 'quay.io/a/b:1', 'always', {
    sizeAnswer: hugeOncePulling(),
    spaceReserveBytes: 0,
    ampleRoomBytes: 1,
  });
  const err = await p.job.result.catch((e: Error) => e);
  expect((err as Error).name).toBe('NoSpace');
  expect(pulls()).toBe(1); // podman had started
  expect(p.job.attempt).toBe(1); // NoSpace is final, never retried
});

it('with little room past the reserve: waits for the size, and a pull that cannot fit never starts', async () => {
  const reserve = freeBytesAt(join(tmp.path, 'sysroot')) - GiB; // 1 GiB usable: not ample
  const p = startPullJob(newQueue(), store, 'quay.io/a/b:1', 'always', {
    sizeAnswer: hugeLater(),
    spaceReserveBytes: reserve,
  });
  const err = await p.job.result.catch((e: Error) => e);
  expect((err as Error).name).toBe('NoSpace');
  expect(pulls()).toBe(0);
});
