// Pulls the image view can answer run no process: a `missing` pull of a present image and a pull by a digest
// the store has answer from the view (no podman, no skopeo, no staging directory, no re-list afterwards); a
// `newer` pull learns the current ID from the view; and a Remove queued before a Pull still comes first.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { StorageService } from '../../src/core/storage-service.js';
import { parseReference } from '../../src/storage/reference.js';
import { type FakePodmanStore, makeFakePodmanStore } from '../helpers/fake-podman-store.js';

const ID = 'a'.repeat(64);
const PULLED = 'd'.repeat(64); // what the fake podman prints for a pull
const DIGEST = `sha256:${'e'.repeat(64)}`;

let f: FakePodmanStore;
beforeEach(() => {
  f = makeFakePodmanStore('bsd-pull-view-', [
    { Id: ID, Names: ['quay.io/a/b:1'], RepoDigests: [`quay.io/a/b@${DIGEST}`], Digest: DIGEST, Size: 1 },
  ]);
});
afterEach(() => f.remove());

function service(opts: { progressTotals?: boolean; extra?: NodeJS.ProcessEnv } = {}) {
  return new StorageService(f.open(opts.extra), {
    progressTotals: opts.progressTotals ?? true,
    pullRetries: 0,
  });
}

/** Every process the fake podman (or any wrapper) recorded so far, as its first two words. */
const calls = () =>
  f.calls().map((args) =>
    args
      .filter((a) => !a.startsWith('-') && !a.startsWith('/'))
      .slice(0, 2)
      .join(' '),
  );
const clearLog = () => f.clearLog();

const staged = () => {
  const dir = join(f.dir, 'sysroot', 'ostree/bootc/storaged-tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
};

it('answers a `missing` pull of a present image from the view: no process, no staging, no re-list', async () => {
  const svc = service();
  await svc.list(); // the view, read once
  clearLog();
  const result = await svc.pull(parseReference('quay.io/a/b:1'), 'missing', 0).result;
  expect(result).toEqual({ fetched: false, id: undefined });
  await new Promise((r) => setTimeout(r, 50)); // a refresh after the job would have started by now
  expect(calls()).toEqual([]);
  expect(readFileSync(`${f.log}.wrap`, 'utf8')).toBe(''); // not even setpriv/unshare ran
  expect(staged()).toEqual([]);
});

it('answers a pull by a digest the store has from the view, whatever the policy', async () => {
  const svc = service();
  await svc.list();
  clearLog();
  for (const policy of ['always', 'newer', 'missing'] as const) {
    expect(await svc.pull(parseReference(`quay.io/a/b@${DIGEST}`), policy, 0).result).toEqual({
      fetched: false,
      id: undefined,
    });
  }
  expect(calls()).toEqual([]);
});

it('pulls a digest the store lacks', async () => {
  const svc = service({ progressTotals: false });
  await svc.list();
  clearLog();
  const other = `sha256:${'f'.repeat(64)}`;
  expect(await svc.pull(parseReference(`quay.io/a/b@${other}`), 'missing', 0).result).toEqual({
    fetched: true,
    id: PULLED,
  });
  expect(calls()[0]).toBe('image pull');
});

it('re-lists first when the store changed since the view was read, then answers exactly', async () => {
  const svc = service({ progressTotals: false });
  await svc.list();
  f.setList([]); // someone else removed it…
  f.moveToken('y'); // …and the store's token moved
  clearLog();
  expect(await svc.pull(parseReference('quay.io/a/b:1'), 'missing', 0).result).toEqual({
    fetched: true,
    id: PULLED,
  });
  expect(calls().slice(0, 2)).toEqual(['image list', 'image pull']); // the re-list, never `image exists`
});

it('a `newer` pull compares with the ID from the view: no `image list` or `image exists` around the pull', async () => {
  const svc = service({ progressTotals: false });
  await svc.list();
  clearLog();
  expect(await svc.pull(parseReference('quay.io/a/b:1'), 'newer', 0).result).toEqual({
    fetched: true,
    id: PULLED,
  });
  expect(calls()[0]).toBe('image pull');
  expect(
    calls()
      .slice(1)
      .every((c) => c === 'image list'),
  ).toBe(true); // only the view refresh after it
  // The view now says the tag names what podman printed: a second `newer` pull reports no change.
  f.setList([{ Id: PULLED, Names: ['quay.io/a/b:1'] }]);
  f.moveToken('z');
  await svc.list();
  clearLog();
  expect(await svc.pull(parseReference('quay.io/a/b:1'), 'newer', 0).result).toEqual({
    fetched: false,
    id: PULLED,
  });
  expect(calls()[0]).toBe('image pull');
});

it('a `missing` pull never asks `image exists`, also without progress totals', async () => {
  const svc = service({ progressTotals: false });
  await svc.list();
  clearLog();
  expect(await svc.pull(parseReference('quay.io/a/b:1'), 'missing', 0).result).toEqual({
    fetched: false,
    id: undefined,
  });
  expect(await svc.pull(parseReference('quay.io/a/other:1'), 'missing', 0).result).toEqual({
    fetched: true,
    id: PULLED,
  });
  expect(calls()).not.toContain('image exists');
});

it('a Remove queued before a `missing` Pull of the same image comes first: the pull then fetches it', async () => {
  const svc = service({ progressTotals: false, extra: { FAKE_RM_WRITES: f.lock } });
  await svc.list();
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  // Something running, so that the Remove and the Pull both wait in the queue.
  const blocker = svc.submit('gc', 'x', 'blocker', 0, () => held);
  const removed = svc.remove(['quay.io/a/b:1'], 0);
  const pulled = svc.pull(parseReference('quay.io/a/b:1'), 'missing', 0);
  clearLog();
  release();
  await blocker.result;
  expect(await removed.result).toEqual([ID]);
  expect(await pulled.result).toEqual({ fetched: true, id: PULLED });
  expect(calls()).toContain('image rm');
  expect(calls().indexOf('image pull')).toBeGreaterThan(calls().indexOf('image rm'));
});

it('a pull that arrives while the start-up wipe of the staging runs gets a staging directory that stays', async () => {
  // A leftover of a previous run, large enough that removing it takes a while.
  const stale = join(f.dir, 'sysroot', 'ostree/bootc/storaged-tmp/pull-old');
  mkdirSync(stale, { recursive: true });
  for (let i = 0; i < 3000; i++) writeFileSync(join(stale, String(i)), '');
  const svc = service({ progressTotals: false });
  // As daemon.ts starts: the bus name is ours, then the store is opened (which wipes the staging) while the call
  // that activated the daemon, a pull, opens it too.
  await svc.cleanStaleState();
  const other = `sha256:${'f'.repeat(64)}`;
  const [, result] = await Promise.all([
    svc.openStore(),
    svc.pull(parseReference(`quay.io/a/b@${other}`), 'missing', 0).result,
  ]);
  expect(result).toEqual({ fetched: true, id: PULLED });
  const pulls = readFileSync(f.log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { args: string[]; tmpdir: { path: string; exists: boolean } | null })
    .filter((c) => c.args.includes('pull'));
  expect(pulls.map((c) => c.tmpdir?.exists)).toEqual([true]);
  expect(existsSync(stale)).toBe(false);
});
