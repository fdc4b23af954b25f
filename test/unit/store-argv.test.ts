// The exact shape of every podman invocation, recorded by a fake podman (and fake setpriv/unshare/mount) on
// PATH: argv, environment, fds 3 and 4, chunking, exit-code mapping, cancellation. Needs no root.

import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePullPolicy } from '../../src/core/pull-decision.js';
import { isStorageError } from '../../src/errors.js';
import { buildPodmanEnv } from '../../src/storage/podman-env.js';
import { parseReference } from '../../src/storage/reference.js';
import { REMOVE_CHUNK } from '../../src/storage/removal.js';
import { countStoreProcesses } from '../../src/storage/run-in-store.js';
import { STORE_SUBPATH, Store } from '../../src/storage/store.js';
import { makeTempDir } from '../helpers/tmp.js';

const FAKE_BIN = resolve(__dirname, 'fake-bin');

interface Call {
  args: string[];
  env: Record<string, string | undefined>;
  fd3: string | null;
  auth: string | null;
  cwd: string;
}

let tmp: { path: string; remove: () => void };
let sysroot: string;
let runDir: string;
let log: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  tmp = makeTempDir('bsd-unit-');
  sysroot = join(tmp.path, 'sysroot');
  runDir = join(tmp.path, 'run');
  mkdirSync(join(sysroot, STORE_SUBPATH), { recursive: true });
  log = join(tmp.path, 'calls.jsonl');
  env = {
    PATH: `${FAKE_BIN}:${process.env.PATH}`,
    FAKE_LOG: log,
    HOME: '/root',
    XDG_RUNTIME_DIR: '/run/user/0',
    STORAGE_OPTS: 'additionalimagestore=/elsewhere',
    REGISTRY_AUTH_FILE: '/root/secret.json',
    CONTAINERS_REGISTRIES_CONF: '/etc/test-registries.conf',
  };
});
afterEach(() => tmp.remove());

const calls = (): Call[] =>
  existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Call)
    : [];
const wrapLog = () => (existsSync(`${log}.wrap`) ? readFileSync(`${log}.wrap`, 'utf8') : '');
const openStore = (extra: Partial<Parameters<typeof Store.open>[0]> = {}) =>
  Store.open({ sysroot, run: runDir, env, ...extra });

async function caught(p: Promise<unknown>) {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { details: Record<string, unknown> },
  );
}

function imagesJson(n: number, namesPer = 1) {
  return JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      Id: i.toString(16).padStart(64, '0'),
      Names: namesPer === 0 ? null : Array.from({ length: namesPer }, (_, j) => `quay.io/t/img${i}:v${j}`),
      RepoDigests: [],
      Size: 10,
      Created: 1,
      Digest: `sha256:${'e'.repeat(64)}`,
    })),
  );
}

describe('podman invocation shape', () => {
  it('runs podman with the byte-exact store flags, inside setpriv + a private mount namespace', async () => {
    const store = openStore();
    await store.exists('quay.io/fedora/fedora:42');
    const [call] = calls();
    expect(call?.args).toEqual([
      '--root',
      '/run/bootc/storage',
      '--runroot',
      '/proc/self/fd/3',
      'image',
      'exists',
      '--',
      'quay.io/fedora/fedora:42',
    ]);
    expect(call?.fd3).toBe(join(runDir, 'bootc/storage'));
    expect(call?.cwd).toBe('/');
    expect(wrapLog()).toBe(
      [
        'setpriv --pdeathsig KILL',
        'unshare --mount --propagation private',
        `mount --bind -- . /run/bootc/storage cwd=${join(sysroot, STORE_SUBPATH)}`,
        '',
      ].join('\n'),
    );
    store.close();
  });

  it('hands credentials only as an anonymous fd, only to registry calls, and hides user credential locations', async () => {
    const store = openStore();
    await store.pull(parseReference('quay.io/a/b:c'));
    mkdirSync(join(sysroot, 'etc/ostree'), { recursive: true });
    writeFileSync(join(sysroot, 'etc/ostree/auth.json'), '{"auths":{"quay.io":{"auth":"eDp5"}}}');
    await store.pull(parseReference('quay.io/a/b:c'));
    await store.exists('quay.io/a/b:c');
    const [first, second, third] = calls();
    expect(first?.auth).toBe('{}');
    expect(second?.auth).toBe('{"auths":{"quay.io":{"auth":"eDp5"}}}');
    expect(third?.args).toContain('exists');
    expect(third?.auth).toBe('{}'); // no registry involved: no credentials
    const emptyHome = join(runDir, 'bootc-storaged/empty-home');
    expect(second?.env).toEqual({
      REGISTRY_AUTH_FILE: '/proc/self/fd/4',
      HOME: emptyHome,
      DOCKER_CONFIG: emptyHome,
      XDG_CONFIG_HOME: emptyHome,
      CONTAINERS_REGISTRIES_CONF: '/etc/test-registries.conf', // the daemon's environment is passed on
    });
    expect(second?.args.join(' ')).not.toContain('auth');
    store.close();
  });

  it('follows a symlinked auth.json, and a broken one fails pulls but not reads', async () => {
    const store = openStore();
    const shared = join(tmp.path, 'shared-auth.json');
    writeFileSync(shared, '{"auths":{"quay.io":{"auth":"c2hhcmVk"}}}');
    mkdirSync(join(sysroot, 'run/ostree'), { recursive: true });
    symlinkSync(shared, join(sysroot, 'run/ostree/auth.json'));
    await store.pull(parseReference('quay.io/a/b:c'));
    expect(calls()[0]?.auth).toBe('{"auths":{"quay.io":{"auth":"c2hhcmVk"}}}');
    writeFileSync(shared, '{"auths": broken');
    const err = await caught(store.pull(parseReference('quay.io/a/b:c')));
    expect(err.name).toBe('AuthFileInvalid');
    expect(err.message).not.toContain('broken');
    expect(await store.list()).toEqual([]);
    expect(await store.exists('quay.io/a/b:c')).toBe(false);
    store.close();
  });

  it('drops variables that would point podman at another service or store', async () => {
    env.CONTAINER_HOST = 'ssh://elsewhere/run/podman.sock';
    env.CONTAINER_CONNECTION = 'remote';
    const store = openStore();
    await store.exists('quay.io/a/b:c');
    const [call] = calls();
    expect(call?.env.STORAGE_OPTS).toBeUndefined();
    expect(Object.keys(call?.env ?? {})).not.toContain('CONTAINER_HOST');
    store.close();
  });

  it('puts -- before every caller-supplied string and normalizes references', async () => {
    writeFileSync(join(tmp.path, 'list.json'), imagesJson(1));
    env.FAKE_LIST = join(tmp.path, 'list.json');
    const store = openStore();
    await store.pull(parseReference('docker.io/alpine'));
    await store.remove(['quay.io/t/img0:v0']);
    const [pull, , rm] = calls();
    expect(pull?.args.slice(4)).toEqual(['image', 'pull', '--', 'docker.io/library/alpine:latest']);
    expect(rm?.args.slice(4)).toEqual(['image', 'rm', '--', 'quay.io/t/img0:v0']);
    store.close();
  });

  it('never runs podman for invalid input', async () => {
    const store = openStore();
    for (const bad of [
      '--help',
      'docker-archive:/etc/shadow',
      'oci:/x',
      'a\nb',
      'x'.repeat(10_000),
      'alpine',
    ]) {
      expect((await caught(store.exists(bad))).name).toBe('InvalidReference');
      // A pull takes a reference parsed at the boundary: the bad one never becomes one.
      expect((await caught((async () => parseReference(bad))())).name).toBe('InvalidReference');
      expect((await caught(store.remove([bad]))).name).toBe('InvalidReference');
      expect((await caught(store.pruneExcept([bad]))).name).toBe('InvalidReference');
      expect((await caught(store.pullFromHost(bad))).name).toBe('InvalidReference');
    }
    // A policy is the core's (pull-decision.ts), checked at the boundary: never an argument to podman.
    expect((await caught((async () => parsePullPolicy('--force'))())).name).toBe('InvalidArgument');
    expect((await caught(store.pruneExcept([]))).name).toBe('NoRoots');
    expect((await caught(store.remove([]))).name).toBe('InvalidArgument');
    expect(calls()).toEqual([]);
    store.close();
  });
});

describe("podman's environment", () => {
  it("drops the daemon's systemd channels: podman must not notify or feed the watchdog for us", () => {
    const env = buildPodmanEnv(
      {
        PATH: '/usr/bin',
        NOTIFY_SOCKET: '/run/systemd/notify',
        WATCHDOG_USEC: '60000000',
        WATCHDOG_PID: '42',
        LISTEN_FDS: '1',
        LISTEN_PID: '42',
        LISTEN_FDNAMES: 'varlink',
        BOOTC_STORAGED_HOST_MNTNS: 'mnt:[4026531841]',
        CONTAINERS_REGISTRIES_CONF: '/etc/r.conf',
      },
      '/run/bootc-storaged/empty-home',
    );
    expect(Object.keys(env).sort()).toEqual(
      [
        'PATH',
        'CONTAINERS_REGISTRIES_CONF',
        'HOME',
        'DOCKER_CONFIG',
        'XDG_CONFIG_HOME',
        'REGISTRY_AUTH_FILE',
      ].sort(),
    );
  });
});

describe('exit codes', () => {
  it('maps exists: 0 → true, 1 → false, anything else → PodmanFailed with stderr', async () => {
    const store = openStore();
    env.FAKE_EXISTS_EXIT = '0';
    expect(await openStore().exists('quay.io/a/b')).toBe(true);
    env.FAKE_EXISTS_EXIT = '1';
    expect(await openStore().exists('quay.io/a/b')).toBe(false);
    env.FAKE_EXISTS_EXIT = '125';
    env.FAKE_EXISTS_STDERR = 'Error: database is locked';
    const err = await caught(openStore().exists('quay.io/a/b'));
    expect(err.name).toBe('PodmanFailed');
    expect(err.details.exitCode).toBe(125);
    expect(err.details.stderrTail).toContain('database is locked');
    expect(err.message).toContain('database is locked');
    store.close();
  });

  it('names a failed bind mount', async () => {
    env.FAKE_MOUNT_EXIT = '32';
    const err = await caught(openStore().exists('quay.io/a/b'));
    expect(err.name).toBe('StorageFailure');
    expect(err.message).toContain('bind-mount');
  });

  it('names a missing podman before touching anything', async () => {
    const err = await caught(
      Store.create({ sysroot: join(tmp.path, 'fresh'), run: runDir, env, podman: 'nopodman' }),
    );
    expect(err.name).toBe('ToolMissing');
    expect(err.message).toContain('nopodman');
    expect(existsSync(join(tmp.path, 'fresh'))).toBe(false);
  });
});

describe('prune chunking', () => {
  it(`removes in chunks of at most ${REMOVE_CHUNK} images, keeping an image's names together`, async () => {
    writeFileSync(join(tmp.path, 'list.json'), imagesJson(250, 2));
    env.FAKE_LIST = join(tmp.path, 'list.json');
    const store = openStore();
    const removed = await store.pruneExcept(['quay.io/t/img7:v1']);
    expect(removed).toHaveLength(249);
    const rms = calls().filter((c) => c.args.includes('rm'));
    expect(rms.map((c) => c.args.slice(c.args.indexOf('--') + 1).length)).toEqual([200, 200, 98]);
    const first = rms[0]!.args.slice(rms[0]!.args.indexOf('--') + 1);
    expect(first.slice(0, 2)).toEqual(['quay.io/t/img0:v0', 'quay.io/t/img0:v1']);
    expect(rms.flatMap((c) => c.args).some((a) => a.startsWith('quay.io/t/img7:'))).toBe(false);
    store.close();
  });

  it('removes dangling images by ID', async () => {
    writeFileSync(join(tmp.path, 'list.json'), imagesJson(3, 0));
    env.FAKE_LIST = join(tmp.path, 'list.json');
    const store = openStore();
    expect(await store.pruneExcept(['quay.io/t/x:y'])).toHaveLength(3);
    const rm = calls().find((c) => c.args.includes('rm'));
    expect(rm?.args.slice(-3)).toEqual([0, 1, 2].map((i) => i.toString(16).padStart(64, '0')));
    store.close();
  });

  it('reports what was removed when a chunk fails', async () => {
    writeFileSync(join(tmp.path, 'list.json'), imagesJson(2));
    env.FAKE_LIST = join(tmp.path, 'list.json');
    env.FAKE_RM_EXIT = '2';
    env.FAKE_RM_STDERR = 'Error: image is in use by a container';
    const err = await caught(openStore().pruneExcept(['quay.io/t/x:y']));
    expect(isStorageError(err, 'PodmanFailed')).toBe(true);
    expect(err.details.removed).toEqual([]); // the fake list still shows both
    expect(err.message).toContain('in use by a container');
  });
});

describe('cancellation', () => {
  it('SIGTERMs the process group, SIGKILLs after the grace period, and rejects Canceled', async () => {
    env.FAKE_PULL_HANG = 'ignore-term';
    const store = openStore({ killGraceMs: 300 });
    const ac = new AbortController();
    const p = store.pull(parseReference('quay.io/a/b:c'), {
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    const err = await caught(p);
    expect(err.name).toBe('Canceled');
    const pid = Number(readFileSync(`${log}.pid`, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(err.details.signal).toBe('SIGKILL');
    expect(countStoreProcesses()).toBe(0);
    store.close();
  });

  it('times out a hung podman with TimedOut (PullFailed for pulls)', async () => {
    env.FAKE_PULL_HANG = '1';
    const store = openStore({ pullTimeoutMs: 300, killGraceMs: 300 });
    const err = await caught(store.pull(parseReference('quay.io/a/b:c')));
    expect(err.name).toBe('PullFailed');
    expect(err.message).toContain('timed out');
    store.close();
  });

  it('ends a call whose podman exited but left a child holding its pipes (timeout reaches the group)', async () => {
    env.FAKE_PULL_ORPHAN = '1';
    const store = openStore({ pullTimeoutMs: 500, killGraceMs: 200 });
    const err = await caught(store.pull(parseReference('quay.io/a/b:c')));
    expect(err.name).toBe('PullFailed');
    expect(err.message).toContain('timed out');
    const orphan = Number(readFileSync(`${log}.orphan`, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    // The whole group was killed, not only podman: the orphan is gone (or a zombie awaiting its reaper).
    const state = (() => {
      try {
        return readFileSync(`/proc/${orphan}/stat`, 'utf8').split(') ')[1]?.[0];
      } catch {
        return 'gone';
      }
    })();
    expect(['gone', 'Z', 'X']).toContain(state);
    store.close();
  });

  it('does not start podman when already aborted', async () => {
    const store = openStore();
    const ac = new AbortController();
    ac.abort();
    expect((await caught(store.list({ signal: ac.signal }))).name).toBe('Canceled');
    expect(calls()).toEqual([]);
    store.close();
  });
});
