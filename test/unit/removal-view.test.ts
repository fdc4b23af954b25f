// Remove and Prune decide from the image view when it is current (the job runs in queue order, so the view
// is the store): no `podman image list` before the removal; a view the store moved away from is re-listed.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { StorageService } from '../../src/core/storage-service.js';
import { STORE_SUBPATH, Store } from '../../src/storage/store.js';
import { makeTempDir } from '../helpers/tmp.js';

const KEEP = 'a'.repeat(64);
const GONE = 'b'.repeat(64);

let tmp: { path: string; remove: () => void };
let log: string;
let lock: string;
let store: Store;
beforeEach(() => {
  tmp = makeTempDir('bsd-removal-view-');
  const images = join(tmp.path, 'sysroot', STORE_SUBPATH, 'overlay-images');
  mkdirSync(images, { recursive: true });
  writeFileSync(join(images, 'images.json'), '[]');
  lock = join(images, 'images.lock');
  writeFileSync(lock, 'x'.repeat(64));
  log = join(tmp.path, 'log');
  writeFileSync(
    join(tmp.path, 'list.json'),
    JSON.stringify([
      { Id: KEEP, Names: ['quay.io/a/b:keep'] },
      { Id: GONE, Names: ['quay.io/a/b:gone'] },
    ]),
  );
  store = Store.open({
    // The fake podman's FAKE_LIST stands in for the store: its records (an empty images.json) must not answer.
    imageRecords: false,
    sysroot: join(tmp.path, 'sysroot'),
    run: join(tmp.path, 'run'),
    env: {
      PATH: `${resolve(__dirname, 'fake-bin')}:${process.env.PATH}`,
      FAKE_LOG: log,
      FAKE_LIST: join(tmp.path, 'list.json'),
    },
  });
});
afterEach(() => {
  store.close();
  tmp.remove();
});

function calls(): string[][] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { args: string[] }).args.slice(4));
}

it('prunes from a current view: the first podman call is the removal itself', async () => {
  const svc = new StorageService(store);
  await svc.list();
  writeFileSync(log, '');
  expect(await svc.prune(['quay.io/a/b:keep'], 0).result).toEqual([GONE]);
  expect(calls()[0]).toEqual(['image', 'rm', '--', 'quay.io/a/b:gone']);
  await svc.list(); // the refresh after the job, before the temp dir goes
});

it('removes from a current view too', async () => {
  const svc = new StorageService(store);
  await svc.list();
  writeFileSync(log, '');
  expect(await svc.remove(['quay.io/a/b:gone'], 0).result).toEqual([GONE]);
  expect(calls()[0]).toEqual(['image', 'rm', '--', 'quay.io/a/b:gone']);
  await svc.list(); // the refresh after the job, before the temp dir goes
});

it('lists first when the store changed since the view was read', async () => {
  const svc = new StorageService(store);
  await svc.list();
  writeFileSync(join(tmp.path, 'list.json'), JSON.stringify([{ Id: KEEP, Names: ['quay.io/a/b:keep'] }]));
  writeFileSync(lock, 'y'.repeat(64)); // someone else removed `gone`
  writeFileSync(log, '');
  expect(await svc.prune(['quay.io/a/b:keep'], 0).result).toEqual([]);
  expect(calls()[0]).toEqual(['image', 'list', '--format=json']);
  expect(calls().some((c) => c[1] === 'rm')).toBe(false);
  await svc.list(); // the refresh after the job, before the temp dir goes
});
