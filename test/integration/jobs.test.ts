// The job queue through the daemon: identical pulls joined (counted at the registry), reads during a slow pull,
// cancel (owner and foreign), the queue cap, SIGTERM mid-pull, and a lost bus connection.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMatch, callStorage, errorName } from '../helpers/daemon.js';
import { readOurMounts } from '../helpers/mounts.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const FAST = 1024 * 1024 * 1024;
let s: Stack;
let mountsBefore: string[];
let testerUid: number;

beforeAll(async () => {
  s = await startStack();
  mountsBefore = readOurMounts(ours());
  testerUid = Number((await run('id', ['-u', 'bsd-tester'])).stdout.trim());
});
afterAll(() => s?.stop());
/** This file's own directories: other files, running in parallel, mount in theirs. */
const ours = () => [s.dir, s.sandbox.sysroot, s.sandbox.run];

type Jobs = [number, string, string, string, string][];
const listJobs = async () => ((await callStorage(s.client, 'ListJobs')) as [Jobs])[0];
const waitForRunning = (target: string) =>
  waitFor(
    async () => (await listJobs()).find((j) => j[2] === target && j[3] === 'running'),
    `a running job for ${target}`,
  );

function busctlAs(
  uid: number,
  args: string[],
): { proc: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const proc = spawn('busctl', ['--system', '--timeout=300', ...args], {
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: s.bus.address },
    uid,
    gid: uid === 0 ? 0 : 65534,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return { proc, done: new Promise((r) => proc.on('close', (code) => r({ code, stderr }))) };
}
const DEST = ['call', 'org.bootc.Storage', '/org/bootc/Storage', 'org.bootc.Storage'];

describe('joining identical requests', () => {
  it('turns 20 simultaneous identical pulls into one pull at the registry', async () => {
    const ref = `${s.proxy.host}/join/img:v1`;
    await s.builder.buildAndPush(`${s.registry.host}/join/img:v1`, { bytes: 1024 * 1024 });
    const single = `${s.proxy.host}/join/img:v0`;
    await s.builder.buildAndPush(`${s.registry.host}/join/img:v0`, { bytes: 1024 * 1024 });
    s.proxy.setRate(FAST);
    const c0 = s.registry.countManifestGets('join/img');
    await callStorage(s.client, 'Pull', 'ss', [single, 'always']);
    const onePull = s.registry.countManifestGets('join/img') - c0;
    expect(onePull).toBeGreaterThan(0);

    const jobIds = new Set<number>();
    const onMsg = (m: dbus.Message) => {
      if (m.member === 'JobNew') jobIds.add(m.body[0] as number);
    };
    s.client.on('message', onMsg);
    await addMatch(s.client, "type='signal',sender='org.bootc.Storage',member='JobNew'");
    s.proxy.setRate(512 * 1024); // ~2 s: every call arrives while the first one still runs
    const c1 = s.registry.countManifestGets('join/img');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => callStorage(s.client, 'Pull', 'ss', [ref, 'always'])),
    );
    s.proxy.setRate(FAST);
    expect(results).toEqual(Array.from({ length: 20 }, () => [true]));
    expect(s.registry.countManifestGets('join/img') - c1).toBe(onePull);
    await waitFor(() => jobIds.size >= 1, 'JobNew');
    expect(jobIds.size).toBe(1);
    s.client.off('message', onMsg);
  });
});

describe('reads, cancel and the queue', () => {
  it('answers reads while a slow pull runs, then cancels it cleanly', async () => {
    const ref = `${s.proxy.host}/slow/img:v1`;
    await s.builder.buildAndPush(`${s.registry.host}/slow/img:v1`, { bytes: 4 * 1024 * 1024 });
    s.proxy.setRate(256 * 1024);
    const pull = errorName(callStorage(s.client, 'Pull', 'ss', [ref, 'always']));
    const [id] = (await waitForRunning(ref)) as Jobs[number];
    for (let i = 0; i < 20; i++) {
      expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([false]);
      expect(((await callStorage(s.client, 'List')) as [unknown[]])[0].length).toBeGreaterThan(0);
    }
    // The pull was still running when every read had been answered.
    expect((await listJobs()).find((j) => j[0] === id)?.[3]).toBe('running');
    await callStorage(s.client, 'CancelJob', 'u', [id]);
    expect(await pull).toBe('org.bootc.Storage.Error.Canceled');
    s.proxy.setRate(FAST);
    expect(await listJobs()).toEqual([]);
    expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([false]);
    const { stdout } = await run('pgrep', ['-f', `${s.proxy.host}/slow/img`]).catch(() => ({ stdout: '' }));
    expect(stdout.trim()).toBe('');
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
  });

  it('refuses with Busy past 64 waiting jobs', async () => {
    const stalled = `${s.proxy.host}/slow/img:v1`;
    s.proxy.setRate(0);
    const first = errorName(callStorage(s.client, 'Pull', 'ss', [stalled, 'always']));
    await waitForRunning(stalled);
    const queued = Array.from({ length: 64 }, (_, i) =>
      errorName(callStorage(s.client, 'Pull', 'ss', [`${s.proxy.host}/cap/img${i}:v1`, 'missing'])),
    );
    await waitFor(async () => (await listJobs()).length === 65, '65 jobs');
    expect(
      await errorName(callStorage(s.client, 'Pull', 'ss', [`${s.proxy.host}/cap/over:v1`, 'missing'])),
    ).toBe('org.bootc.Storage.Error.Busy');
    // An identical request still joins a queued job instead of being refused.
    const joined = errorName(callStorage(s.client, 'Pull', 'ss', [`${s.proxy.host}/cap/img3:v1`, 'missing']));
    for (const [id] of (await listJobs()).reverse()) await callStorage(s.client, 'CancelJob', 'u', [id]);
    expect(await first).toBe('org.bootc.Storage.Error.Canceled');
    expect(new Set(await Promise.all(queued))).toEqual(new Set(['org.bootc.Storage.Error.Canceled']));
    expect(await joined).toBe('org.bootc.Storage.Error.Canceled');
    expect(await listJobs()).toEqual([]);
    s.proxy.setRate(FAST);
  });

  it('keeps a job running when its caller disconnects', async () => {
    const ref = `${s.proxy.host}/slow/img:v3`;
    await s.builder.buildAndPush(`${s.registry.host}/slow/img:v3`, { bytes: 1024 * 1024 });
    s.proxy.setRate(256 * 1024);
    const caller = busctlAs(0, [...DEST, 'Pull', 'ss', ref, 'always']);
    const [id] = (await waitForRunning(ref)) as Jobs[number];
    caller.proc.kill('SIGKILL');
    await caller.done;
    expect((await listJobs()).find((j) => j[0] === id)?.[3]).toBe('running');
    s.proxy.setRate(FAST);
    await waitFor(async () => (await listJobs()).length === 0, 'the orphaned job to finish');
    expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([true]);
  });

  it('lets the owner cancel its own job and refuses a foreign cancel', async () => {
    const ref = `${s.proxy.host}/slow/img:v1`;
    s.proxy.setRate(0);
    const owner = busctlAs(testerUid, [...DEST, 'Pull', 'ss', ref, 'always']);
    const [id] = (await waitForRunning(ref)) as Jobs[number];
    const props = (await callStorage(s.client, 'GetAll', 's', ['org.bootc.Storage.Job'], {
      path: `/org/bootc/Storage/job/${id}`,
      iface: 'org.freedesktop.DBus.Properties',
    })) as [Record<string, { value: unknown }>];
    expect(props[0].Owner?.value).toBe(testerUid);
    expect(props[0].Kind?.value).toBe('pull');
    const foreign = busctlAs(65534, [...DEST, 'CancelJob', 'u', String(id)]);
    const f = await foreign.done;
    expect(f.code).not.toBe(0);
    expect(f.stderr).toMatch(/Access denied|not authorized/i);
    expect((await listJobs()).find((j) => j[0] === id)?.[3]).toBe('running');
    const own = busctlAs(testerUid, [
      'call',
      'org.bootc.Storage',
      `/org/bootc/Storage/job/${id}`,
      'org.bootc.Storage.Job',
      'Cancel',
    ]);
    expect((await own.done).code).toBe(0);
    const o = await owner.done;
    expect(o.code).not.toBe(0);
    expect(o.stderr).toMatch(/cancel/i);
    expect(await listJobs()).toEqual([]);
    s.proxy.setRate(FAST);
  });
});

describe('cancelling a joined job', () => {
  it("withdraws only the caller who cancels: a joined pull survives its first caller's cancel", async () => {
    const ref = `${s.proxy.host}/joined/img:v1`;
    await s.builder.buildAndPush(ref);
    s.proxy.setRate(0); // held until both callers are in and one has left
    // bsd-tester submits first (the job's Owner); root joins the same pull from another connection.
    const first = busctlAs(testerUid, [...DEST, 'Pull', 'ss', ref, 'always']);
    const [id] = (await waitForRunning(ref)) as Jobs[number];
    const joined = callStorage(s.client, 'Pull', 'ss', [ref, 'always']);
    await new Promise((r) => setTimeout(r, 200));
    expect((await listJobs()).filter((j) => j[2] === ref)).toHaveLength(1);
    // The first caller cancels (as owner, no polkit): its own call ends Canceled…
    const cancel = busctlAs(testerUid, [...DEST, 'CancelJob', 'u', String(id)]);
    expect((await cancel.done).code).toBe(0);
    const f = await first.done;
    expect(f.code).not.toBe(0);
    expect(f.stderr).toMatch(/canceled for this caller/);
    // …while the job goes on for the caller who still wants it, and completes.
    expect((await listJobs()).find((j) => j[0] === id)?.[3]).toBe('running');
    s.proxy.setRate(FAST);
    expect(await joined).toEqual([true]);
    expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([true]);
  });

  it('stops the job once its last caller withdraws', async () => {
    const ref = `${s.proxy.host}/joined/img:v2`;
    await s.builder.buildAndPush(ref);
    s.proxy.setRate(0);
    const first = busctlAs(testerUid, [...DEST, 'Pull', 'ss', ref, 'always']);
    const [id] = (await waitForRunning(ref)) as Jobs[number];
    const joined = errorName(callStorage(s.client, 'Pull', 'ss', [ref, 'always']));
    await new Promise((r) => setTimeout(r, 200));
    expect((await busctlAs(testerUid, [...DEST, 'CancelJob', 'u', String(id)]).done).code).toBe(0);
    await first.done;
    expect((await listJobs()).find((j) => j[0] === id)?.[3]).toBe('running');
    await callStorage(s.client, 'CancelJob', 'u', [id]); // root withdraws too: nobody is left
    expect(await joined).toBe('org.bootc.Storage.Error.Canceled');
    await waitFor(async () => (await listJobs()).every((j) => j[0] !== id), 'the job to end');
    s.proxy.setRate(FAST);
  });
});

describe('process lifecycle', () => {
  it('on SIGTERM mid-pull cancels the job, releases the name and exits 0, leaving nothing behind', async () => {
    const ref = `${s.proxy.host}/slow/img:v2`;
    await s.builder.buildAndPush(`${s.registry.host}/slow/img:v2`, { bytes: 2 * 1024 * 1024 });
    s.proxy.setRate(0);
    const pull = errorName(callStorage(s.client, 'Pull', 'ss', [ref, 'always']));
    await waitForRunning(ref);
    const code = await s.daemon.stop('SIGTERM');
    expect(code).toBe(0);
    expect(await pull).toMatch(/Canceled|NoReply|Disconnected/);
    const [has] = (await callStorage(s.client, 'NameHasOwner', 's', ['org.bootc.Storage'], {
      path: '/org/freedesktop/DBus',
      iface: 'org.freedesktop.DBus',
      destination: 'org.freedesktop.DBus',
    })) as [boolean];
    expect(has).toBe(false);
    const { stdout } = await run('pgrep', ['-f', `${s.proxy.host}/slow/img:v2`]).catch(() => ({
      stdout: '',
    }));
    expect(stdout.trim()).toBe('');
    expect(readOurMounts(ours())).toEqual(mountsBefore);
    s.proxy.setRate(FAST);
    await s.restartDaemon();
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
  });

  it('exits non-zero when the bus connection is lost', async () => {
    await s.bus.stop();
    const code = await Promise.race([
      s.daemon.exited,
      new Promise((r) => setTimeout(() => r('still running'), 20_000)),
    ]);
    expect(code).not.toBe(0);
    expect(code).not.toBe('still running');
    expect(s.daemon.output()).toContain('lost the bus connection');
  });
});
