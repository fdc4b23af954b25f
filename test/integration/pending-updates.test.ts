// Issue 24 item 2: the bound images of a fetched update, before it is staged. The real `ostree` tool commits an
// image's tree under `ostree/container/image/<escaped reference>` in the sandbox sysroot's repo, as
// `bootc upgrade --download-only` leaves it, and never deploys it: ListDeployments lists it as "pending",
// ListBoundImages reads its bound images from the commit (never checked out), SyncBoundImages(commit) and
// `bootc-storagectl sync --pending` pull them, GarbageCollect keeps them while the ref exists, and once the
// commit is deployed it is a deployment like any other.

import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { addMatch, callStorage, errorName, listNames } from '../helpers/daemon.js';
import {
  containerQuadlet,
  createSysroot,
  deleteRef,
  deploy,
  deployRef,
  escapeForRef,
  fetchUpdate,
  imageQuadlet,
} from '../helpers/ostree-sysroot.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const S = 'org.bootc.Storage';
let s: Stack;
let h: string;
const ref = (name: string) => `${h}/pend/${name}`;
const signals: string[] = [];
let update: { commit: string; ref: string };

type Row = [string, string, string];
const deployments = async () => ((await callStorage(s.client, 'ListDeployments')) as [Row[]])[0];
const bound = async () =>
  ((await callStorage(s.client, 'ListBoundImages')) as [[string, string, string, boolean][]])[0];
const names = () => listNames(s.client);

/** Runs the CLI against the test bus to its end. */
const cli = (args: string[]) => runCli(s.bus.address, args);

beforeAll(async () => {
  s = await startStack({ beforeDaemon: (sandbox) => void createSysroot(sandbox.sysroot) });
  h = s.registry.host;
  for (const name of ['db:1', 'db:2', 'app:2', 'junk:1'])
    await s.builder.buildAndPush(ref(name), { bytes: 1024 });
  deploy(s.sandbox.sysroot, {
    quadlets: { 'db.image': imageQuadlet(ref('db:1')) },
    origin: `ostree-unverified-registry:${ref('os:1')}`,
  });
  await addMatch(s.client, `type='signal',sender='${S}',interface='${S}'`);
  s.client.on('message', (m: dbus.Message) => {
    if (m.type === 4 && m.member === 'DeploymentsChanged') signals.push(m.member);
  });
  await callStorage(s.client, 'Subscribe'); // arms the watch; it answers once the watch is in place
});
afterAll(async () => {
  await s?.stop();
});

describe('a fetched update, before it is staged', () => {
  it('is listed as "pending" (its commit, its image), and DeploymentsChanged says so within 1 s', async () => {
    const before = signals.length;
    // As ostree-ext names it: the transport, then the image; bound-images.d is itself a link, as images may ship it.
    update = fetchUpdate(s.sandbox.sysroot, `registry:${ref('os:2')}`, {
      quadlets: { 'db.image': imageQuadlet(ref('db:2')), 'app.container': containerQuadlet(ref('app:2')) },
      boundImagesDirLink: '/usr/share/bootc-bound-images',
    });
    expect(update.ref).toBe(`ostree/container/image/${escapeForRef(`registry:${ref('os:2')}`)}`);
    expect(update.ref).toContain('_3A_'); // the ':' of the transport and the port are escaped
    await waitFor(() => signals.length > before, 'DeploymentsChanged', 1000, 10);
    const rows = await deployments();
    expect(rows[0]).toEqual([update.commit, 'pending', ref('os:2')]);
    expect(rows.slice(1).map(([, role]) => role)).toEqual(['other']);
  });

  it('ListBoundImages reads its bound images from the commit; SyncBoundImages(commit) pulls them', async () => {
    const mine = (await bound()).filter(([, d]) => d === update.commit);
    expect(mine).toEqual([
      [ref('app:2'), update.commit, 'usr/lib/bootc/bound-images.d/app.container', false],
      [ref('db:2'), update.commit, 'usr/lib/bootc/bound-images.d/db.image', false],
    ]);
    const [pulled] = (await callStorage(s.client, 'SyncBoundImages', 's', [update.commit])) as [string[]];
    expect([...pulled].sort()).toEqual([ref('app:2'), ref('db:2')]);
    expect((await bound()).filter(([, d]) => d === update.commit).map(([, , , p]) => p)).toEqual([
      true,
      true,
    ]);
  });

  it('GarbageCollect keeps them while the ref exists, and not after bootc drops it', async () => {
    await callStorage(s.client, 'Pull', 'ss', [ref('db:1'), 'missing']);
    await callStorage(s.client, 'Pull', 'ss', [ref('junk:1'), 'missing']);
    await callStorage(s.client, 'GarbageCollect', 'b', [false]);
    expect(await names()).toEqual([ref('app:2'), ref('db:1'), ref('db:2')].sort());
    deleteRef(s.sandbox.sysroot, update.ref);
    await waitFor(
      async () => (await deployments())[0]?.[1] !== 'pending',
      'the update no longer pending',
      2000,
    );
    await callStorage(s.client, 'GarbageCollect', 'b', [false]);
    expect(await names()).toEqual([ref('db:1')]);
  });

  it('`sync --pending` prepares every pending update, and says when there is none', async () => {
    const none = await cli(['sync', '--pending', '--quiet']);
    expect(none.code).toBe(5);
    expect(none.stderr).toMatch(/no pending or staged update/);
    update = fetchUpdate(s.sandbox.sysroot, `registry:${ref('os:2')}`, {
      quadlets: { 'db.image': imageQuadlet(ref('db:2')) },
    });
    await waitFor(async () => (await deployments())[0]?.[1] === 'pending', 'pending again', 2000);
    const r = await cli(['sync', '--pending', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Pulled ${ref('db:2')}`);
    expect(await names()).toContain(ref('db:2'));
  });

  it('once deployed it is a deployment like any other, no longer pending', async () => {
    deployRef(s.sandbox.sysroot, update.ref);
    await waitFor(async () => (await deployments()).length === 2, 'two deployments', 2000);
    const rows = await deployments();
    expect(rows.map(([, role]) => role)).toEqual(['other', 'other']);
    expect(rows[0]?.[0]).toBe(`${update.commit}.0`);
  });

  it('a bound-image link in a pending commit that points nowhere: InvalidBoundImage naming it; GC removes nothing', async () => {
    const broken = fetchUpdate(s.sandbox.sysroot, `registry:${ref('os:3')}`, {
      symlinks: { 'usr/lib/bootc/bound-images.d/gone.image': '/usr/share/containers/systemd/gone.image' },
    });
    // ListDeployments itself does not read bound images: it lists the broken update like any other.
    await waitFor(async () => (await deployments())[0]?.[0] === broken.commit, 'the broken update', 2000);
    const e = callStorage(s.client, 'ListBoundImages');
    expect(await errorName(e)).toBe(`${S}.Error.InvalidBoundImage`);
    const text = await e.catch((x: { text: string }) => x.text);
    expect(text).toContain(`commit ${broken.commit}:/usr/lib/bootc/bound-images.d/gone.image`);
    const before = await names();
    expect(await errorName(callStorage(s.client, 'GarbageCollect', 'b', [false]))).toBe(
      `${S}.Error.InvalidBoundImage`,
    );
    expect(await names()).toEqual(before);
    deleteRef(s.sandbox.sysroot, broken.ref);
  });
});
