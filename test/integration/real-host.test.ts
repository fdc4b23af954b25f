// The daemon on a sysroot shaped like a real bootc host's: a real ostree sysroot (made by the ostree tool)
// mounted read-only in a stand-in host namespace, with no ostree/bootc yet. The daemon, started there through
// its launcher, creates the store in its own namespace; the host keeps seeing /sysroot read-only. Also: a
// store that cannot be made (answered at once, retried by the next write), a read-only file system, the
// composefs layout, and GarbageCollect under libostree's sysroot lock.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callStorage, errorName, listIds } from '../helpers/daemon.js';
import { type HostNamespace, startHostNamespace } from '../helpers/host-namespace.js';
import { createSysroot, deploy, imageQuadlet, makeMutable } from '../helpers/ostree-sysroot.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

let s: Stack;
let host: HostNamespace;
let hostMountsBefore: string[];
const ourMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');

beforeAll(async () => {
  host = await startHostNamespace();
  s = await startStack({
    beforeDaemon: (sandbox) => {
      createSysroot(sandbox.sysroot, { readonly: true });
      // As on a bootc host: /sysroot is a read-only mount (the file system underneath is writable).
      const r = host.exec(['mount', '--bind', '-o', 'ro', sandbox.sysroot, sandbox.sysroot]);
      if (r.code !== 0) throw new Error(`mount -o ro failed: ${r.stderr}`);
      hostMountsBefore = host.mounts();
    },
    hostPid: () => host.pid,
  });
}, 120_000);

afterAll(async () => {
  host?.stop();
  // ostree makes deployment directories immutable; the stack's cleanup removes the sysroots.
  if (s) for (const d of [s.sandbox.sysroot, join(s.dir, 'cfs-sysroot')]) makeMutable(d);
  await s?.stop();
});

const ids = () => listIds(s.client);

describe('a read-only /sysroot without ostree/bootc', () => {
  it('creates the store in the daemon’s namespace only; the host still sees /sysroot read-only', async () => {
    const sysroot = s.sandbox.sysroot;
    const ref = `${s.registry.host}/host/app:1`;
    await s.builder.buildAndPush(ref);
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
    expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([true]);
    // The store exists on disk, made by the daemon…
    expect(statSync(join(sysroot, 'ostree/bootc/storage/overlay-images')).isDirectory()).toBe(true);
    // …while every other process of the host still cannot write there,
    const touch = host.exec(['touch', join(sysroot, 'ostree/bootc/probe')]);
    expect(touch.code).not.toBe(0);
    expect(touch.stderr).toMatch(/Read-only file system/);
    // and no mount of the daemon leaked into the host's namespace or into ours.
    expect(host.mounts()).toEqual(hostMountsBefore);
    expect(ourMounts().filter((l) => l.includes(s.sandbox.dir))).toEqual([]);
  });

  it('collects garbage through the read-only mount, keeping the bound and the host image', async () => {
    const h = s.registry.host;
    const bound = `${h}/host/bound:1`;
    const os = `${h}/host/os:1`;
    const stale = `${h}/host/stale:1`;
    for (const r of [bound, os, stale]) {
      await s.builder.buildAndPush(r);
      await callStorage(s.client, 'Pull', 'ss', [r, 'missing']);
    }
    // ostree writes through the host's view: the test makes its deployment in its own (writable) namespace.
    deploy(s.sandbox.sysroot, {
      quadlets: { 'bound.image': imageQuadlet(bound) },
      origin: `ostree-unverified-registry:${os}`,
    });
    expect((await ids()).length).toBe(4);
    const [removed] = (await callStorage(s.client, 'GarbageCollect', 'b', [false])) as [string[]];
    expect(removed.length).toBe(2); // stale and the first test's app
    expect(await callStorage(s.client, 'Exists', 's', [bound])).toEqual([true]);
    expect(await callStorage(s.client, 'Exists', 's', [os])).toEqual([true]);
    expect(await callStorage(s.client, 'Exists', 's', [stale])).toEqual([false]);
    // The lock file is libostree's: taken and removed again, as glnx does for an exclusive holder.
    expect(() => lstatSync(join(s.sandbox.sysroot, 'ostree/lock'))).toThrow(/ENOENT/);
    expect(host.mounts()).toEqual(hostMountsBefore);
  });
});

/** Holds <sysroot>/ostree/lock exactly as libostree does (an OFD write lock), until killed. */
function holdSysrootLock(sysroot: string): Promise<ChildProcess> {
  const py = spawn(
    'python3',
    [
      '-c',
      `import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.fcntl(fd, fcntl.F_OFD_SETLKW, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
print('locked', flush=True)
time.sleep(3600)`,
      join(sysroot, 'ostree/lock'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    py.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve(py));
    py.on('error', reject);
    py.on('exit', (code) => reject(new Error(`python3 exited ${code}`)));
  });
}

describe('GarbageCollect and the ostree sysroot lock', () => {
  it('waits, shown as "blocked", while another process holds the lock; removes nothing until it is free', async () => {
    const stale = `${s.registry.host}/host/late:1`;
    await s.builder.buildAndPush(stale);
    await callStorage(s.client, 'Pull', 'ss', [stale, 'missing']);
    const holder = await holdSysrootLock(s.sandbox.sysroot);
    try {
      const gc = callStorage(s.client, 'GarbageCollect', 'b', [false]);
      const state = await waitFor(
        async () => {
          const [jobs] = (await callStorage(s.client, 'ListJobs')) as [[number, string, string, string][]];
          return jobs.find((j) => j[1] === 'gc' && j[3] === 'blocked');
        },
        'the gc job to wait for the lock',
        20_000,
        50,
      );
      expect(state?.[3]).toBe('blocked');
      // Reads are never blocked, and nothing was removed while the lock is held.
      expect(await callStorage(s.client, 'Exists', 's', [stale])).toEqual([true]);
      holder.kill('SIGKILL');
      const [removed] = (await gc) as [string[]];
      expect(removed.length).toBe(1);
      expect(await callStorage(s.client, 'Exists', 's', [stale])).toEqual([false]);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('fails with SysrootLocked after --lock-timeout, removing nothing', async () => {
    await s.restartDaemon(['--lock-timeout', '1']);
    const stale = `${s.registry.host}/host/kept:1`;
    await s.builder.buildAndPush(stale);
    await callStorage(s.client, 'Pull', 'ss', [stale, 'missing']);
    const holder = await holdSysrootLock(s.sandbox.sysroot);
    try {
      expect(await errorName(callStorage(s.client, 'GarbageCollect', 'b', [false]))).toBe(
        'org.bootc.Storage.Error.SysrootLocked',
      );
      expect(await callStorage(s.client, 'Exists', 's', [stale])).toEqual([true]);
      // A dry run decides nothing on disk: it never waits for the lock.
      const [wouldRemove] = (await callStorage(s.client, 'GarbageCollect', 'b', [true])) as [string[]];
      expect(wouldRemove.length).toBe(1);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

/** Times one call and returns its error name. */
async function timedError(member: string, signature = '', body: unknown[] = []) {
  const t0 = Date.now();
  const name = await errorName(callStorage(s.client, member, signature, body));
  return { name, ms: Date.now() - t0 };
}

describe('a store that cannot be created', () => {
  it('answers every method at once with StoreUnavailable naming the path; the next write retries', async () => {
    const broken = join(s.dir, 'broken-sysroot');
    createSysroot(broken);
    writeFileSync(join(broken, 'ostree/bootc'), 'a file where a directory should be\n');
    await s.restartDaemon(['--sysroot', broken]);
    for (const [member, sig, body] of [
      ['List', '', []],
      ['Exists', 's', [`${s.registry.host}/host/x:1`]],
      ['Pull', 'ss', [`${s.registry.host}/host/x:1`, 'missing']],
      ['Remove', 'as', [[`${s.registry.host}/host/x:1`]]],
      ['Prune', 'as', [[`${s.registry.host}/host/x:1`]]],
      ['GarbageCollect', 'b', [true]],
      ['GarbageCollect', 'b', [false]],
    ] as const) {
      const r = await timedError(member, sig, [...body]);
      expect(r.name, member).toBe('org.bootc.Storage.Error.StoreUnavailable');
      expect(r.ms, member).toBeLessThan(1000);
    }
    const message = await callStorage(s.client, 'List').catch((e: { text: string }) => e.text);
    expect(message).toContain(join(broken, 'ostree/bootc'));
    expect(message).toMatch(/not a directory/);
    expect(s.daemon.proc.exitCode).toBeNull();
    // Fixing the cause needs no restart: the next write creates the store.
    rmSync(join(broken, 'ostree/bootc'));
    const ref = `${s.registry.host}/host/fixed:1`;
    await s.builder.buildAndPush(ref);
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
    expect(await callStorage(s.client, 'Exists', 's', [ref])).toEqual([true]);
  });

  it('names a file system that is itself read-only (ReadOnlyFilesystem), and keeps answering', async () => {
    const ro = join(s.dir, 'ro-fs');
    mkdirSync(ro, { recursive: true });
    // A read-only superblock (tmpfs mounted ro), in the stand-in host's namespace only.
    expect(host.exec(['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).code).toBe(0);
    await s.restartDaemon(['--sysroot', ro]);
    const r = await timedError('Pull', 'ss', [`${s.registry.host}/host/x:1`, 'missing']);
    expect(r.name).toBe('org.bootc.Storage.Error.ReadOnlyFilesystem');
    expect(r.ms).toBeLessThan(1000);
    const message = await callStorage(s.client, 'List').catch((e: { text: string }) => e.text);
    expect(message).toMatch(/read-only/);
    expect(message).toContain(ro);
    host.exec(['umount', ro]);
  });
});

describe('a missing podman', () => {
  it('is named at once (StoreUnavailable, the program), and the next write works once podman is installed', async () => {
    // A PATH with everything the daemon runs but podman.
    const bin = join(s.dir, 'bin-without-podman');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['nsenter', 'unshare', 'setpriv', 'mount', 'sh', 'skopeo', 'nice']) {
      const path = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      symlinkSync(path, join(bin, tool));
    }
    const fresh = join(s.dir, 'fresh-sysroot');
    createSysroot(fresh);
    await s.restartDaemon(['--sysroot', fresh], { PATH: bin });
    const r = await timedError('Pull', 'ss', [`${s.registry.host}/host/x:1`, 'missing']);
    expect(r.name).toBe('org.bootc.Storage.Error.StoreUnavailable');
    expect(r.ms).toBeLessThan(1000);
    const message = await callStorage(s.client, 'List').catch((e: { text: string }) => e.text);
    expect(message).toMatch(/"podman" was not found/);
    expect(message).toContain(join(fresh, 'ostree/bootc/storage'));
    expect(lstatSync(join(fresh, 'ostree')).isDirectory()).toBe(true);
    expect(() => lstatSync(join(fresh, 'ostree/bootc/storage.tmp'))).toThrow(/ENOENT/); // nothing left behind
    // podman appears (a package installed): the next write creates the store, no restart.
    symlinkSync(
      execFileSync('sh', ['-c', 'command -v podman'], { encoding: 'utf8' }).trim(),
      join(bin, 'podman'),
    );
    const ref = `${s.registry.host}/host/late-podman:1`;
    await s.builder.buildAndPush(ref);
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
    await s.restartDaemon(['--sysroot', s.sandbox.sysroot]);
  });
});

describe('the composefs layout', () => {
  it('creates composefs/bootc/storage (composefs/ 0700) behind an ostree/bootc link, and works through it', async () => {
    const sysroot = join(s.dir, 'cfs-sysroot');
    createSysroot(sysroot);
    mkdirSync(join(sysroot, 'composefs'), { mode: 0o700 });
    expect(host.exec(['mount', '--bind', '-o', 'ro', sysroot, sysroot]).code).toBe(0);
    await s.restartDaemon(['--sysroot', sysroot]);
    const h = s.registry.host;
    const bound = `${h}/cfs/bound:1`;
    const stale = `${h}/cfs/stale:1`;
    for (const r of [bound, stale]) {
      await s.builder.buildAndPush(r);
      expect(await callStorage(s.client, 'Pull', 'ss', [r, 'missing'])).toEqual([true]);
    }
    expect(readlinkSync(join(sysroot, 'ostree/bootc'))).toBe('../composefs/bootc');
    expect(statSync(join(sysroot, 'composefs')).mode & 0o777).toBe(0o700);
    expect(statSync(join(sysroot, 'composefs/bootc/storage/overlay-images')).isDirectory()).toBe(true);
    const linkBefore = lstatSync(join(sysroot, 'ostree/bootc')).ino;
    deploy(sysroot, { quadlets: { 'bound.image': imageQuadlet(bound) } });
    const [removed] = (await callStorage(s.client, 'GarbageCollect', 'b', [false])) as [string[]];
    expect(removed.length).toBe(1);
    expect(await callStorage(s.client, 'Exists', 's', [bound])).toEqual([true]);
    // Still the same link: nothing replaced it with a directory.
    expect(lstatSync(join(sysroot, 'ostree/bootc')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(sysroot, 'ostree/bootc')).ino).toBe(linkBefore);
    expect(host.exec(['touch', join(sysroot, 'composefs/bootc/probe')]).code).not.toBe(0);
    await s.restartDaemon(['--sysroot', s.sandbox.sysroot]);
  });
});
