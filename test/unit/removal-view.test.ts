// Remove and Prune decide from the image view when it is current (the job runs in queue order, so the view
// is the store): no `podman image list` before the removal; a view the store moved away from is re-listed.

import { afterEach, beforeEach, expect, it } from 'vitest';
import { StorageService } from '../../src/core/storage-service.js';
import type { Store } from '../../src/storage/store.js';
import { type FakePodmanStore, makeFakePodmanStore } from '../helpers/fake-podman-store.js';

const KEEP = 'a'.repeat(64);
const GONE = 'b'.repeat(64);

let f: FakePodmanStore;
let store: Store;
beforeEach(() => {
  f = makeFakePodmanStore('bsd-removal-view-', [
    { Id: KEEP, Names: ['quay.io/a/b:keep'] },
    { Id: GONE, Names: ['quay.io/a/b:gone'] },
  ]);
  store = f.open();
});
afterEach(() => f.remove());

/** podman's arguments after the store options (--root … --runroot …). */
const calls = () => f.calls().map((args) => args.slice(4));

it('prunes from a current view: the first podman call is the removal itself', async () => {
  const svc = new StorageService(store);
  await svc.list();
  f.clearLog();
  expect(await svc.prune(['quay.io/a/b:keep'], 0).result).toEqual([GONE]);
  expect(calls()[0]).toEqual(['image', 'rm', '--', 'quay.io/a/b:gone']);
  await svc.list(); // the refresh after the job, before the temp dir goes
});

it('prunes by name, but by ID where the caller keeps other writers out (the GC, under the sysroot lock)', async () => {
  expect(await store.pruneExcept(['quay.io/a/b:keep'], { byId: true })).toEqual([GONE]);
  expect(calls().find((c) => c[1] === 'rm')).toEqual(['image', 'rm', '--', GONE]);
  f.clearLog();
  expect(await store.pruneExcept(['quay.io/a/b:keep'])).toEqual([GONE]);
  expect(calls().find((c) => c[1] === 'rm')).toEqual(['image', 'rm', '--', 'quay.io/a/b:gone']);
});

it('removes an image with several names by its names even by ID: podman refuses `rm <id>` for it', async () => {
  const TWO = 'c'.repeat(64);
  f.setList([
    { Id: KEEP, Names: ['quay.io/a/b:keep'] },
    { Id: TWO, Names: ['quay.io/a/b:one', 'quay.io/a/b:two'] },
  ]);
  f.moveToken('z');
  expect(await store.pruneExcept(['quay.io/a/b:keep'], { byId: true })).toEqual([TWO]);
  expect(calls().find((c) => c[1] === 'rm')).toEqual([
    'image',
    'rm',
    '--',
    'quay.io/a/b:one',
    'quay.io/a/b:two',
  ]);
});

it('removes from a current view too', async () => {
  const svc = new StorageService(store);
  await svc.list();
  f.clearLog();
  expect(await svc.remove(['quay.io/a/b:gone'], 0).result).toEqual([GONE]);
  expect(calls()[0]).toEqual(['image', 'rm', '--', 'quay.io/a/b:gone']);
  await svc.list(); // the refresh after the job, before the temp dir goes
});

it('lists first when the store changed since the view was read', async () => {
  const svc = new StorageService(store);
  await svc.list();
  f.setList([{ Id: KEEP, Names: ['quay.io/a/b:keep'] }]);
  f.moveToken('y'); // someone else removed `gone`
  f.clearLog();
  expect(await svc.prune(['quay.io/a/b:keep'], 0).result).toEqual([]);
  expect(calls()[0]).toEqual(['image', 'list', '--format=json']);
  expect(calls().some((c) => c[1] === 'rm')).toBe(false);
  await svc.list(); // the refresh after the job, before the temp dir goes
});
