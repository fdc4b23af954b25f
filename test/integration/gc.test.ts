// GarbageCollect through the daemon: roots from real ostree deployments (ostree admin deploy) in the sandbox
// sysroot, which is an ostree sysroot before the daemon first sees it; real podman.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callStorage, errorName, listIds } from '../helpers/daemon.js';
import {
  containerQuadlet,
  createSysroot,
  deploy,
  imageQuadlet,
  status,
  undeploy,
} from '../helpers/ostree-sysroot.js';
import { type Stack, startStack } from '../helpers/stack.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ beforeDaemon: (sandbox) => void createSysroot(sandbox.sysroot) });
});
afterAll(async () => {
  await s?.stop();
});

const ids = () => listIds(s.client);

describe('GarbageCollect', () => {
  it('refuses with NoRoots when there are no deployments, removing nothing', async () => {
    const ref = `${s.registry.host}/gc/lonely:v1`;
    await s.builder.buildAndPush(ref);
    await callStorage(s.client, 'Pull', 'ss', [ref, 'missing']);
    expect(await errorName(callStorage(s.client, 'GarbageCollect', 'b', [false]))).toBe(
      'org.bootc.Storage.Error.NoRoots',
    );
    expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([true]);
  });

  it('keeps images of the booted and the rollback deployment, removes the rest; dry run changes nothing', async () => {
    const h = s.registry.host;
    const refs = {
      bootedDb: `${h}/gc/db:2`,
      rollbackDb: `${h}/gc/db:1`,
      web: `${h}/gc/web:latest`,
      hostOs: `${h}/gc/os:42`,
      stale: `${h}/gc/stale:v1`,
    };
    const id: Record<string, string> = {};
    for (const [k, r] of Object.entries(refs)) {
      id[k] = await s.builder.buildAndPush(r);
      await callStorage(s.client, 'Pull', 'ss', [r, 'missing']);
    }
    const lonely = (await ids()).filter((x) => !Object.values(id).includes(x));
    // ostree puts the newest deployment first: deployed second, the booted-style one becomes the default and
    // the first one its rollback.
    const sysroot = s.sandbox.sysroot;
    const rollback = deploy(sysroot, { quadlets: { 'db.image': imageQuadlet(refs.rollbackDb) } });
    const booted = deploy(sysroot, {
      quadlets: { 'db.image': imageQuadlet(refs.bootedDb), 'web.container': containerQuadlet(`${h}/gc/web`) },
      origin: `ostree-unverified-registry:${refs.hostOs}`,
    });
    expect(status(sysroot).map((d) => d.dir)).toEqual([booted.dir, rollback.dir]);
    const before = await ids();
    const [wouldRemove] = (await callStorage(s.client, 'GarbageCollect', 'b', [true])) as [string[]];
    expect(wouldRemove.sort()).toEqual([id.stale!, ...lonely].sort());
    expect(await ids()).toEqual(before);

    // A broken quadlet in any deployment aborts the whole collection, naming the file: here a third
    // deployment (all kept) whose db.image uses a specifier; undeploying it lets the collection run.
    const broken = deploy(sysroot, {
      retain: true,
      quadlets: { 'db.image': '[Image]\nImage=quay.io/x/y:%H\n' },
    });
    const err = await callStorage(s.client, 'GarbageCollect', 'b', [false]).then(
      () => undefined,
      (e: { type: string; text: string }) => e,
    );
    expect(err?.type).toBe('org.bootc.Storage.Error.InvalidBoundImage');
    expect(err?.text).toContain('db.image');
    expect(err?.text).toContain(broken.dir);
    expect(await ids()).toEqual(before);
    undeploy(sysroot, broken.dir);

    const [removed] = (await callStorage(s.client, 'GarbageCollect', 'b', [false])) as [string[]];
    expect(removed.sort()).toEqual([id.stale!, ...lonely].sort());
    expect(await ids()).toEqual([id.bootedDb!, id.rollbackDb!, id.web!, id.hostOs!].sort());

    // Once the rollback deployment is gone, its image is garbage too.
    undeploy(sysroot, rollback.dir);
    const [second] = (await callStorage(s.client, 'GarbageCollect', 'b', [false])) as [string[]];
    expect(second).toEqual([id.rollbackDb]);
  });

  it('keeps what a deployment binds through an absolute bound-images.d link, read inside it', async () => {
    // A staged update whose image ships usr/lib/bootc/bound-images.d as an absolute symlink: read through the
    // running system (which has no such directory) it would bind nothing, and its image would be removed.
    const h = s.registry.host;
    const staged = `${h}/gc/staged:3`;
    const junk = `${h}/gc/junk:3`;
    const stagedId = await s.builder.buildAndPush(staged);
    await s.builder.buildAndPush(junk);
    for (const r of [staged, junk]) await callStorage(s.client, 'Pull', 'ss', [r, 'missing']);
    deploy(s.sandbox.sysroot, {
      boundImagesDirLink: '/usr/share/bootc-bound-images',
      quadlets: { 'staged.image': imageQuadlet(staged) },
      retain: true,
    });
    await callStorage(s.client, 'GarbageCollect', 'b', [false]);
    expect(await callStorage(s.client, 'Exists', 's', [staged])).toEqual([true]);
    expect(await callStorage(s.client, 'Exists', 's', [junk])).toEqual([false]);
    expect(await ids()).toContain(stagedId);
  });

  it('is refused to an unprivileged caller', async () => {
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve) =>
      execFile(
        'busctl',
        [
          '--system',
          'call',
          'org.bootc.Storage',
          '/org/bootc/Storage',
          'org.bootc.Storage',
          'GarbageCollect',
          'b',
          'false',
        ],
        { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: s.bus.address }, uid: 65534, gid: 65534 },
        (_e, _o, stderr) => resolve(stderr),
      ),
    );
    expect(out).toMatch(/Access denied|not authorized/i);
  });
});
