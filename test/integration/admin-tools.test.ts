// What admin tools need (issue 12), through both transports against a real ostree sysroot, podman and registry:
// job handles (Start…) that reply at once, jobs watched with ObjectManager and PropertiesChanged and read late
// (State, Result, ErrorName) until their retention ends, deployments with roles, bound images with presence,
// the GC preview that equals the dry run, and a sync of the missing bound images with per-image progress.

import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VarlinkCallError, VarlinkClient } from '../../src/api/varlink/client.js';
import { runCli } from '../helpers/cli-process.js';
import { addMatch, callStorage, errorName } from '../helpers/daemon.js';
import { createSysroot, deploy, imageQuadlet } from '../helpers/ostree-sysroot.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

const S = 'org.bootc.Storage';
const E = 'org.bootc.Storage.Error.';
const RETENTION_S = 3;
const dir = makeTempDir('bsd-admin-');
chmodSync(dir.path, 0o755);
const SOCKET = join(dir.path, 'org.bootc.Storage');
let s: Stack;
let vl: VarlinkClient;
const h = () => s.registry.host;
/** Runs bootc-storagectl against the test bus (stdout is a pipe: plain progress lines on stderr). */
const cli = (args: string[]) => runCli(s.bus.address, args);

beforeAll(async () => {
  s = await startStack({
    daemonArgs: ['--varlink-socket', SOCKET, '--job-retention', String(RETENTION_S)],
    beforeDaemon: (sandbox) => void createSysroot(sandbox.sysroot),
  });
  vl = await VarlinkClient.connect(SOCKET);
});
afterAll(async () => {
  vl?.close();
  await s?.stop();
  dir.remove();
});

type Variant = { signature: string; value: unknown };
const getAll = async (path: string) =>
  (
    (await callStorage(s.client, 'GetAll', 's', [`${S}.Job`], {
      path,
      iface: 'org.freedesktop.DBus.Properties',
    })) as [Record<string, Variant>]
  )[0];
const plain = (props: Record<string, Variant>) =>
  Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.value]));

/** Collects every signal org.bootc.Storage sends from now on. */
async function recordSignals(): Promise<dbus.Message[]> {
  const seen: dbus.Message[] = [];
  await addMatch(s.client, `type='signal',sender='${S}'`);
  s.client.on('message', (m: dbus.Message) => {
    if (m.type === 4) seen.push(m); // SIGNAL
  });
  return seen;
}

describe('job handles over D-Bus', () => {
  it('StartPull replies with (id, path) at once; the job is watched and read late, then its object goes', async () => {
    const ref = `${h()}/admin/slow:v1`;
    await s.builder.buildAndPush(ref, { bytes: 2 * 1024 * 1024 });
    const signals = await recordSignals();
    s.proxy.setRate(512 * 1024); // ~4 s for 2 MB: the reply must come long before the job ends
    const slowRef = ref.replace(h(), s.proxy.host);
    const t0 = Date.now();
    const [id, path] = (await callStorage(s.client, 'StartPull', 'ss', [slowRef, 'always'])) as [
      number,
      string,
    ];
    const replyMs = Date.now() - t0;
    expect(path).toBe(`/org/bootc/Storage/job/${id}`);
    expect(replyMs).toBeLessThan(1500);
    const early = plain(await getAll(path));
    expect(early).toMatchObject({ Id: id, Kind: 'pull', State: expect.stringMatching(/queued|running/) });
    // GetManagedObjects lists it with every Job property.
    const [managed] = (await callStorage(s.client, 'GetManagedObjects', '', [], {
      iface: 'org.freedesktop.DBus.ObjectManager',
    })) as [Record<string, Record<string, Record<string, Variant>>>];
    expect(Object.keys(managed[path]?.[`${S}.Job`] ?? {})).toEqual(
      expect.arrayContaining(['State', 'Result']),
    );
    s.proxy.setRate(1024 ** 3);
    await waitFor(async () => plain(await getAll(path)).State === 'done', 'the pull to end', 60_000);
    // Read late: still there after the end, with the blocking call's result.
    const done = plain(await getAll(path));
    expect(done).toMatchObject({ State: 'done', ErrorName: '', ErrorMessage: '', Progress: 1 });
    expect((done.Result as Variant).value).toBe(true);
    // Signals: InterfacesAdded, PropertiesChanged (progress, then a final one with State and Result), JobRemoved.
    const mine = signals.filter(
      (m) => m.path === path || (m.body as unknown[])[0] === path || (m.body as unknown[])[0] === id,
    );
    const added = signals.find((m) => m.member === 'InterfacesAdded' && (m.body as unknown[])[0] === path);
    expect(added).toBeDefined();
    const changes = mine.filter((m) => m.member === 'PropertiesChanged');
    const final = changes.find(
      (m) => ((m.body as [string, Record<string, Variant>])[1].State?.value ?? '') === 'done',
    );
    expect(final, 'a PropertiesChanged carries the final State').toBeDefined();
    expect(Object.keys((final!.body as [string, Record<string, Variant>])[1])).toEqual(
      expect.arrayContaining(['State', 'Result', 'ErrorName', 'BytesDone']),
    );
    expect(signals.some((m) => m.member === 'JobRemoved' && (m.body as unknown[])[0] === id)).toBe(true);
    // After the retention time: InterfacesRemoved, and the object is gone.
    await waitFor(
      () => signals.some((m) => m.member === 'InterfacesRemoved' && (m.body as unknown[])[0] === path),
      'InterfacesRemoved',
      (RETENTION_S + 5) * 1000,
    );
    expect(await errorName(getAll(path))).toBe(`${E}NotFound`);
  });

  it('a failed job keeps its error name and message for late readers', async () => {
    const [id, path] = (await callStorage(s.client, 'StartPull', 'ss', [
      `${h()}/admin/absent:nope`,
      'always',
    ])) as [number, string];
    await waitFor(async () => plain(await getAll(path)).State === 'failed', 'the pull to fail', 60_000);
    const p = plain(await getAll(path));
    expect(p.Id).toBe(id);
    expect(p.ErrorName).toBe(`${E}PullFailed`);
    expect(String(p.ErrorMessage)).toContain('absent');
    expect((p.Result as Variant).value).toBe('');
  });

  it('bad input to a Start method is refused before any job exists', async () => {
    const before = (await callStorage(s.client, 'ListJobs')) as [unknown[]];
    expect(await errorName(callStorage(s.client, 'StartPull', 'ss', ['not a ref', 'missing']))).toBe(
      `${E}InvalidReference`,
    );
    expect(await errorName(callStorage(s.client, 'StartPull', 'ss', [`${h()}/x:1`, 'sometimes']))).toBe(
      `${E}InvalidArgument`,
    );
    expect(await errorName(callStorage(s.client, 'StartPrune', 'as', [[]]))).toBe(`${E}NoRoots`);
    expect(await errorName(callStorage(s.client, 'StartSyncBoundImages', 's', ['nosuch.0']))).toBe(
      `${E}InvalidArgument`,
    );
    expect(await errorName(callStorage(s.client, 'StartSyncBoundImages', 's', [`${'0'.repeat(64)}.0`]))).toBe(
      `${E}NotFound`,
    );
    expect((await callStorage(s.client, 'ListJobs')) as [unknown[]]).toEqual(before);
  });

  it('StartRemove returns a handle whose Result is the blocking answer', async () => {
    const ref = `${h()}/admin/rm:v1`;
    const imageId = await s.builder.buildAndPush(ref);
    await callStorage(s.client, 'Pull', 'ss', [ref, 'missing']);
    const [, path] = (await callStorage(s.client, 'StartRemove', 'as', [[ref]])) as [number, string];
    await waitFor(async () => plain(await getAll(path)).State === 'done', 'the removal', 30_000);
    expect(((plain(await getAll(path)).Result as Variant).value as string[]).map(String)).toEqual([imageId]);
  });
});

describe('deployments and bound images', () => {
  let present: string;
  let missing: string;
  let booted: { checksum: string; serial: number };

  beforeAll(async () => {
    present = `${h()}/admin/db:1`;
    missing = `${h()}/admin/web:2`;
    await s.builder.buildAndPush(present);
    await s.builder.buildAndPush(missing, { bytes: 300 * 1024 });
    await callStorage(s.client, 'Pull', 'ss', [present, 'missing']);
    deploy(s.sandbox.sysroot, { quadlets: { 'db.image': imageQuadlet(present) } });
    booted = deploy(s.sandbox.sysroot, {
      quadlets: { 'db.image': imageQuadlet(present), 'web.image': imageQuadlet(missing) },
      origin: `ostree-unverified-registry:${h()}/admin/os:42`,
    });
  });
  const name = () => `${booted.checksum}.${booted.serial}`;

  it('ListDeployments and ListBoundImages agree over D-Bus and Varlink', async () => {
    const [ds] = (await callStorage(s.client, 'ListDeployments')) as [[string, string, string][]];
    expect(ds).toHaveLength(2);
    expect(ds[0]).toEqual([name(), 'other', `${h()}/admin/os:42`]); // newest first; nothing is booted here
    const [bound] = (await callStorage(s.client, 'ListBoundImages')) as [[string, string, string, boolean][]];
    const newest = bound.filter(([, d]) => d === name());
    expect(newest.map(([i, , f, p]) => [i, f, p]).sort()).toEqual(
      [
        [present, 'usr/lib/bootc/bound-images.d/db.image', true],
        [missing, 'usr/lib/bootc/bound-images.d/web.image', false],
      ].sort(),
    );
    const v = await vl.call<{ images: { image: string; deployment: string; present: boolean }[] }>(
      `${S}.ListBoundImages`,
    );
    expect(v.images.map((b) => [b.image, b.deployment, b.present])).toEqual(
      bound.map(([i, d, , p]) => [i, d, p]),
    );
    const vd = await vl.call<{ deployments: { deployment: string; role: string; hostImage: string }[] }>(
      `${S}.ListDeployments`,
    );
    expect(vd.deployments.map((d) => [d.deployment, d.role, d.hostImage])).toEqual(ds);
  });

  it('PreviewGarbageCollect says what a dry run removes, and why each image stays', async () => {
    const [preview] = (await callStorage(s.client, 'PreviewGarbageCollect')) as [[string, boolean, string][]];
    const [dry] = (await callStorage(s.client, 'GarbageCollect', 'b', [true])) as [string[]];
    expect(
      preview
        .filter(([, kept]) => !kept)
        .map(([id]) => id)
        .sort(),
    ).toEqual([...dry].sort());
    const db = preview.find(([, kept, why]) => kept && why.includes('db.image'));
    expect(db?.[2]).toMatch(/^bound by [0-9a-f]{64}\.\d+ \(usr\/lib\/bootc\/bound-images\.d\/db\.image\)/);
    expect(
      preview.filter(([, kept]) => !kept).every(([, , why]) => why === 'referenced by no deployment'),
    ).toBe(true);
  });

  it('StartSyncBoundImages pulls exactly the missing images with per-image progress; Varlink reads it late', async () => {
    const signals = await recordSignals();
    const [id, path] = (await callStorage(s.client, 'StartSyncBoundImages', 's', [name()])) as [
      number,
      string,
    ];
    await waitFor(async () => plain(await getAll(path)).State === 'done', 'the sync', 60_000);
    const p = plain(await getAll(path));
    expect(p).toMatchObject({ Kind: 'sync', Target: name(), ItemsTotal: 1, ItemsDone: 1, Item: '' });
    expect((p.Result as Variant).value).toEqual([missing]);
    const items = signals
      .filter((m) => m.path === path && m.member === 'PropertiesChanged')
      .map((m) => (m.body as [string, Record<string, Variant>])[1].Item?.value)
      .filter((v) => v !== undefined);
    expect(items).toContain(missing);
    const [bound] = (await callStorage(s.client, 'ListBoundImages')) as [[string, string, string, boolean][]];
    expect(bound.every(([, , , present]) => present)).toBe(true);
    // Varlink: GetJob reads the ended job, its result in Varlink's own shape.
    const { job } = await vl.call<{
      job: { state: string; result?: { pulled: string[] }; errorName: string };
    }>(`${S}.GetJob`, { id });
    expect(job).toMatchObject({ state: 'done', result: { pulled: [missing] }, errorName: '' });
    // A second sync finds nothing to pull.
    const again = await vl.call<{ id: number; job: string }>(`${S}.StartSyncBoundImages`, { deployment: '' });
    await waitFor(
      async () =>
        (await vl.call<{ job: { state: string } }>(`${S}.GetJob`, { id: again.id })).job.state === 'done',
      'the second sync',
      30_000,
    );
    const second = await vl.call<{ job: { result?: { pulled: string[] } } }>(`${S}.GetJob`, { id: again.id });
    expect(second.job.result).toEqual({ pulled: [] });
  });

  it('Varlink: StartPull of a missing tag fails late with the Varlink error name; GetJob of nothing is NotFound', async () => {
    const { id, job } = await vl.call<{ id: number; job: string }>(`${S}.StartPull`, {
      image: `${h()}/admin/none:x`,
      policy: 'always',
    });
    expect(job).toBe(`/org/bootc/Storage/job/${id}`);
    await waitFor(
      async () => (await vl.call<{ job: { state: string } }>(`${S}.GetJob`, { id })).job.state === 'failed',
      'the pull to fail',
      30_000,
    );
    const { job: j } = await vl.call<{ job: { errorName: string; errorMessage: string } }>(`${S}.GetJob`, {
      id,
    });
    expect(j.errorName).toBe(`${S}.PullFailed`);
    const err = await vl.call(`${S}.GetJob`, { id: 999_999 }).then(
      () => 'no error',
      (e: unknown) => (e instanceof VarlinkCallError ? e.error : String(e)),
    );
    expect(err).toBe(`${S}.NotFound`);
  });

  it('bootc-storagectl deployments, bound and sync run on the handles', async () => {
    const later = `${h()}/admin/cache:3`;
    await s.builder.buildAndPush(later, { bytes: 200 * 1024 });
    const third = deploy(s.sandbox.sysroot, {
      quadlets: { 'db.image': imageQuadlet(present), 'cache.image': imageQuadlet(later) },
      retain: true,
    });
    const thirdName = `${third.checksum}.${third.serial}`;
    const ds = await cli(['deployments']);
    expect(ds.code, ds.stderr).toBe(0);
    expect(ds.stdout).toMatch(
      new RegExp(`^DEPLOYMENT\\s+ROLE\\s+HOST IMAGE\\n${thirdName}\\s+other\\s+-\\n`),
    );
    const bound = await cli(['bound']);
    expect(bound.code, bound.stderr).toBe(0);
    expect(bound.stdout).toMatch(
      new RegExp(`${thirdName}\\s+other\\s+${later.replace(/[.]/g, '\\.')}\\s+MISSING`),
    );
    expect(bound.stdout).toContain("1 bound image(s) missing; 'bootc-storagectl sync' pulls them.");
    const json = JSON.parse((await cli(['bound', '--json'])).stdout) as {
      deployment: string;
      images: { image: string; present: boolean }[];
    }[];
    expect(json.find((d) => d.deployment === thirdName)?.images).toEqual(
      expect.arrayContaining([expect.objectContaining({ image: later, present: false })]),
    );
    const sync = await cli(['sync', thirdName]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toBe(`Pulled ${later}\n`);
    expect(sync.stderr).toMatch(/sync/);
    const again = await cli(['sync', '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ deployment: '', pulled: [] });
    const absent = `${'0'.repeat(64)}.0`;
    const unknown = await cli(['sync', absent]);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toMatch(new RegExp(`no deployment "${absent.replace('.', '\\.')}"`));
    // Not even the shape of a deployment's name: refused as invalid input before polkit is asked.
    const malformed = await cli(['sync', 'nosuch.0']);
    expect(malformed.code).toBe(4);
    expect(malformed.stderr).toMatch(/<64 hex digits>\.<serial>/);
  });
});

describe('retries and the space check, over both transports', () => {
  it('D-Bus: a pull retries two 503s from the registry; the job shows the attempt, the registry log the retries', async () => {
    const ref = `${h()}/admin/flaky:v1`;
    await s.builder.buildAndPush(ref);
    // The first manifest request is the daemon's size query (it then pulls without a space check), the next
    // two are podman's first two attempts: podman does not retry a 503 itself, the daemon does.
    s.flaky.fail({ count: 3, status: 503 });
    const [, path] = (await callStorage(s.client, 'StartPull', 'ss', [
      ref.replace(h(), s.flaky.host),
      'always',
    ])) as [number, string];
    await waitFor(
      async () => /done|failed/.test(String(plain(await getAll(path)).State)),
      'the pull',
      60_000,
    );
    const p = plain(await getAll(path));
    expect(p).toMatchObject({ State: 'done', Attempt: 3 });
    const statuses = s.flaky.manifestRequests('admin/flaky').map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual([503, 503, 503]);
    expect(statuses.slice(3)).toContain(200);
  });

  it('Varlink: the streamed progress carries the attempt; an unknown tag is not retried', async () => {
    const ref = `${h()}/admin/flaky2:v1`;
    await s.builder.buildAndPush(ref);
    s.flaky.fail({ count: 2, status: 503 }); // the size query's, then podman's first attempt
    const attempts: number[] = [];
    let last: { attempt?: number; fetched?: boolean } = {};
    for await (const r of vl.stream<{ attempt: number; fetched?: boolean }>(`${S}.Pull`, {
      image: ref.replace(h(), s.flaky.host),
      policy: 'always',
    })) {
      attempts.push(r.parameters.attempt);
      last = r.parameters;
    }
    expect(last).toMatchObject({ attempt: 2, fetched: true });
    expect(Math.max(...attempts)).toBe(2);
    const before = s.flaky.manifestRequests('admin/flaky2').length;
    const err = await vl
      .call(`${S}.Pull`, { image: `${s.flaky.host}/admin/flaky2:nosuch`, policy: 'always' })
      .then(
        () => 'no error',
        (e: unknown) => (e instanceof VarlinkCallError ? e.error : String(e)),
      );
    expect(err).toBe(`${S}.PullFailed`);
    // One attempt: the manifest was asked for once (podman asks once per attempt for a plain tag).
    expect(s.flaky.manifestRequests('admin/flaky2').length - before).toBeLessThanOrEqual(2);
  });

  it('a pull that cannot fit fails NoSpace before podman starts, with needed and free bytes, on both transports', async () => {
    vl.close();
    await s.restartDaemon(['--varlink-socket', SOCKET, '--space-reserve', '1000T']);
    vl = await VarlinkClient.connect(SOCKET);
    const ref = `${h()}/admin/huge:v1`;
    await s.builder.buildAndPush(ref, { bytes: 128 * 1024 });
    const dbusErr = await callStorage(s.client, 'Pull', 'ss', [ref, 'always']).then(
      () => undefined,
      (e: { type: string; text: string }) => e,
    );
    expect(dbusErr?.type).toBe(`${E}NoSpace`);
    expect(dbusErr?.text).toMatch(/needs at least \d+ bytes .* has \d+ bytes free/);
    const vErr = await vl.call(`${S}.Pull`, { image: ref, policy: 'always' }).then(
      () => 'no error',
      (e: unknown) => (e instanceof VarlinkCallError ? e.error : String(e)),
    );
    expect(vErr).toBe(`${S}.NoSpace`);
    expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([false]);
  });
});
