// The pull stall watchdog, with a fake podman: a registry that stops sending fails the pull; podman's long,
// silent commit phase (after the manifest is written) does not.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { StorageService } from '../../src/core/storage-service.js';
import { parseReference } from '../../src/storage/reference.js';
import { STORE_SUBPATH, Store } from '../../src/storage/store.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  tmp = makeTempDir('bsd-stall-');
  mkdirSync(join(tmp.path, 'sysroot', STORE_SUBPATH), { recursive: true });
  env = { PATH: `${resolve(__dirname, 'fake-bin')}:${process.env.PATH}`, FAKE_LOG: join(tmp.path, 'log') };
});
afterEach(() => tmp.remove());

function service(extra: NodeJS.ProcessEnv) {
  const store = Store.open({
    sysroot: join(tmp.path, 'sysroot'),
    run: join(tmp.path, 'run'),
    env: { ...env, ...extra },
  });
  return {
    store,
    svc: new StorageService(store, { stallTimeoutMs: 400, progressTotals: false, pullRetries: 0 }),
  };
}

it('fails a pull whose transfer stops with PullFailed (stalled)', async () => {
  const { store, svc } = service({ FAKE_PULL_HANG: '1' });
  const err = await svc.pull(parseReference('quay.io/a/b:c'), 'always', 0).result.then(
    () => undefined,
    (e: Error & { details: Record<string, unknown> }) => e,
  );
  expect(err?.name).toBe('PullFailed');
  expect(err?.details.reason).toBe('stalled');
  await svc.list(); // the view refresh after the pull must finish before the temp dir goes
  store.close();
});

it('lets a pull through whose silent commit phase outlasts the stall limit', async () => {
  const { store, svc } = service({ FAKE_PULL_SLOW_COMMIT: '1200' });
  const result = await svc.pull(parseReference('quay.io/a/b:c'), 'always', 0).result;
  expect(result).toEqual({ fetched: true, id: 'd'.repeat(64) });
  await svc.list();
  store.close();
});
