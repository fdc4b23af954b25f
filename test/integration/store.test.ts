// The storage engine against real podman and a real docker-registry on 127.0.0.1.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decidePull, fetchedResult, type PullPolicy } from '../../src/core/pull-decision.js';
import { isStorageError } from '../../src/errors.js';
import { findImage } from '../../src/storage/image-match.js';
import { parseReference } from '../../src/storage/reference.js';
import { countStoreProcesses } from '../../src/storage/run-in-store.js';
import { STORE_SUBPATH, Store } from '../../src/storage/store.js';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { readOurMounts } from '../helpers/mounts.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';
import { startSlowProxy } from '../helpers/slow-proxy.js';
import { makeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

let work: { path: string; remove: () => void };
let registry: Registry;
let builder: ImageBuilder;
let mountsBefore: string[];

beforeAll(async () => {
  work = makeTempDir('bsd-store-');
  // This file's own directories only: other files, running in parallel, mount in theirs.
  mountsBefore = readOurMounts([work.path]);
  registry = await startRegistry({ dir: join(work.path, 'registry') });
  builder = createImageBuilder(work.path);
});

afterAll(async () => {
  await registry?.stop();
  work?.remove();
});

/** Every directory this file made: where a leaked mount of its own would be. */
const ourDirs: string[] = [];

function newSandbox(extraRegistries: string[] = []): Sandbox {
  const sb = makeSandbox([registry.host, ...extraRegistries]);
  ourDirs.push(sb.sysroot, sb.run);
  return sb;
}

async function expectError(p: Promise<unknown>, name: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStorageError(err), `expected ${name}, got ${String(err)}`).toBe(true);
  expect((err as Error).name).toBe(name);
  return err as Error & { details: Record<string, unknown> };
}

describe('create and open', () => {
  it('creates the store through storage.tmp, records the alias path, and never re-initializes it', async () => {
    const sb = newSandbox();
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    const storePath = join(sb.sysroot, STORE_SUBPATH);
    expect(store.storePath).toBe(storePath);
    expect(existsSync(`${storePath}.tmp`)).toBe(false);
    expect(statSync(join(storePath, 'overlay-images')).isDirectory()).toBe(true);
    // podman wrote the alias (not the real path) into its database: the store only opens under the alias.
    const db = readFileSync(join(storePath, 'libpod', 'bolt_state.db')).toString('latin1');
    expect(db).toContain('/run/bootc/storage');
    expect(db).not.toContain(sb.sysroot);
    expect(await store.list()).toEqual([]);
    store.close();

    writeFileSync(join(storePath, 'marker'), 'x');
    const ino = statSync(join(storePath, 'libpod', 'bolt_state.db')).ino;
    const again = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    expect(readFileSync(join(storePath, 'marker'), 'utf8')).toBe('x');
    expect(statSync(join(storePath, 'libpod', 'bolt_state.db')).ino).toBe(ino);
    again.close();
    sb.remove();
  });

  it('removes a stale storage.tmp left by an interrupted create', async () => {
    const sb = newSandbox();
    const tmp = join(sb.sysroot, `${STORE_SUBPATH}.tmp`);
    mkdirSync(join(tmp, 'junk'), { recursive: true });
    writeFileSync(join(tmp, 'junk', 'f'), 'stale');
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    expect(existsSync(tmp)).toBe(false);
    expect(existsSync(join(store.storePath, 'junk'))).toBe(false);
    expect(await store.list()).toEqual([]);
    store.close();
    sb.remove();
  });

  it('names a missing podman and leaves nothing behind', async () => {
    const sb = newSandbox();
    const err = await expectError(
      Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env, podman: 'podman-not-installed' }),
      'ToolMissing',
    );
    expect(err.message).toContain('podman-not-installed');
    expect(existsSync(join(sb.sysroot, `${STORE_SUBPATH}.tmp`))).toBe(false);
    expect(existsSync(join(sb.sysroot, STORE_SUBPATH))).toBe(false);
    sb.remove();
  });

  it('refuses to open a store that does not exist', async () => {
    const sb = newSandbox();
    expect(() => Store.open({ sysroot: sb.sysroot, run: sb.run, env: sb.env })).toThrow(/does not exist/);
    sb.remove();
  });

  it('labels once with a pluggable relabeler and records the stamp', async () => {
    const sb = newSandbox();
    const calls: string[] = [];
    const relabel = async (dir: string) => {
      calls.push(dir);
      return true;
    };
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env, relabel });
    expect(calls).toEqual([`${store.storePath}.tmp`]);
    expect(existsSync(join(store.storePath, '.bootc_labeled'))).toBe(true);
    store.close();
    (await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env, relabel })).close();
    expect(calls).toHaveLength(1);
    sb.remove();
  });
});

describe('pull, exists, list', () => {
  it('fetches into the store; each policy, decided once in the core, gives what podman then holds', async () => {
    const sb = newSandbox();
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    const ref = `${registry.host}/policy/img:v1`;
    const r = parseReference(ref);
    const id1 = await builder.buildAndPush(ref);
    /** A pull as the core runs it: the one decision (against the store's listing), then a fetch if needed. */
    const pull = async (policy: PullPolicy) => {
      const decision = decidePull(r, policy, findImage(await store.list(), r));
      if ('answer' in decision) return decision.answer;
      return fetchedResult(policy, decision.fetch.before, (await store.pull(r)).id);
    };

    expect(await store.exists(ref)).toBe(false);
    const events: string[] = [];
    const first = await store.pull(r, { onProgress: (e) => events.push(e.phase) });
    expect(first).toEqual({ id: id1 });
    expect(events).toContain('copying-blob');
    expect(events).toContain('writing-manifest');
    expect(await store.exists(ref)).toBe(true);
    expect(await pull('missing')).toEqual({ fetched: false, id: undefined });
    expect((await pull('always')).fetched).toBe(true);
    expect(await pull('newer')).toEqual({ fetched: false, id: id1 });

    const id2 = await builder.buildAndPush(ref); // new content under the same tag
    expect(id2).not.toBe(id1);
    expect(await pull('missing')).toEqual({ fetched: false, id: undefined });
    expect(await pull('newer')).toEqual({ fetched: true, id: id2 });

    const images = await store.list();
    const current = images.find((i) => i.id === id2);
    expect(current?.names).toEqual([ref]);
    expect(current?.digests[0]).toMatch(new RegExp(`^${registry.host}/policy/img@sha256:[a-f0-9]{64}$`));
    expect(current?.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(current?.size).toBeGreaterThan(0);
    expect(Math.abs((current?.created ?? 0) - Date.now() / 1000)).toBeLessThan(600);
    // The first image lost its only name: it is dangling now, still listed, once.
    const dangling = images.find((i) => i.id === id1);
    expect(dangling?.names).toEqual([]);
    expect(images.filter((i) => i.id === id2)).toHaveLength(1);
    store.close();
    sb.remove();
  });

  it('lists an image with two names once', async () => {
    const sb = newSandbox();
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    const a = `${registry.host}/multi/img:a`;
    const b = `${registry.host}/multi/img:b`;
    const id = await builder.buildAndPush(a);
    await builder.podman(['tag', a, b]);
    await builder.podman(['push', '-q', '--tls-verify=false', b]);
    await store.pull(parseReference(a));
    await store.pull(parseReference(b));
    const images = await store.list();
    expect(images).toHaveLength(1);
    expect(images[0]?.id).toBe(id);
    expect([...(images[0]?.names ?? [])].sort()).toEqual([a, b]);
    store.close();
    sb.remove();
  });

  it('fails a pull of an unknown tag or an unreachable registry with PullFailed and podman stderr', async () => {
    const sb = newSandbox(['127.0.0.1:1']);
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    const err = await expectError(store.pull(parseReference(`${registry.host}/nope/img:v1`)), 'PullFailed');
    expect(err.message).toMatch(/manifest unknown|name unknown/);
    // podman's, or skopeo's where skopeo pulls (copy-pull.ts)
    expect(String(err.details.stderrTail)).toMatch(/Trying to pull|level=fatal msg=/);
    await expectError(store.pull(parseReference('127.0.0.1:1/x/y:z')), 'PullFailed');
    expect(await store.list()).toEqual([]);
    store.close();
    sb.remove();
  });

  it('rejects bad input before podman runs and changes nothing', async () => {
    const sb = newSandbox();
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    const token = store.changeToken();
    for (const bad of ['--help', 'docker-archive:/etc/shadow', 'oci:/tmp/x', '', 'a b', 'alpine']) {
      // A pull takes a reference parsed at the boundary (parseReference), which refuses these the same way.
      await expectError(
        Promise.resolve().then(() => parseReference(bad)),
        'InvalidReference',
      );
      await expectError(store.exists(bad), 'InvalidReference');
      await expectError(store.remove([bad]), 'InvalidReference');
    }
    expect(store.changeToken()).toBe(token);
    store.close();
    sb.remove();
  });
});

describe('remove and prune', () => {
  it('removes by tag (untag while other names remain), by ID, and refuses unknown targets', async () => {
    const sb = newSandbox();
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    const a = `${registry.host}/rm/img:a`;
    const b = `${registry.host}/rm/img:b`;
    const id = await builder.buildAndPush(a);
    await builder.podman(['tag', a, b]);
    await builder.podman(['push', '-q', '--tls-verify=false', b]);
    const other = `${registry.host}/rm/other:v1`;
    const otherId = await builder.buildAndPush(other);
    for (const r of [a, b, other]) await store.pull(parseReference(r));

    await expectError(store.remove([a, `${registry.host}/rm/absent:v1`]), 'NotFound');
    expect((await store.list()).map((i) => i.id).sort()).toEqual([id, otherId].sort());

    expect(await store.remove([a])).toEqual([]); // only the name goes
    expect((await store.list()).find((i) => i.id === id)?.names).toEqual([b]);
    expect(await store.remove([id])).toEqual([id]);
    expect(await store.remove([`sha256:${otherId}`])).toEqual([otherId]);
    expect(await store.list()).toEqual([]);
    store.close();
    sb.remove();
  });

  it('keeps roots (normalized, even with a second tag), removes dangling and multi-named garbage', async () => {
    const sb = newSandbox();
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    const h = registry.host;
    const bound = `${h}/prune/bound:latest`;
    const boundId = await builder.buildAndPush(bound);
    await builder.podman(['tag', bound, `${h}/prune/bound:extra`]);
    await builder.podman(['push', '-q', '--tls-verify=false', `${h}/prune/bound:extra`]);
    const byDigestRef = `${h}/prune/pinned:v1`;
    const pinnedId = await builder.buildAndPush(byDigestRef);
    const junk = `${h}/prune/junk:v1`;
    const junkId = await builder.buildAndPush(junk);
    await builder.podman(['tag', junk, `${h}/prune/junk:v2`]);
    await builder.podman(['push', '-q', '--tls-verify=false', `${h}/prune/junk:v2`]);
    const floating = `${h}/prune/floating:v1`;
    const oldFloatingId = await builder.buildAndPush(floating);

    await store.pull(parseReference(bound));
    await store.pull(parseReference(`${h}/prune/bound:extra`));
    await store.pull(parseReference(junk));
    await store.pull(parseReference(`${h}/prune/junk:v2`));
    await store.pull(parseReference(floating));
    await store.pull(parseReference(byDigestRef));
    const pinnedDigest = (await store.list()).find((i) => i.id === pinnedId)?.digest;
    const newFloatingId = await builder.buildAndPush(floating);
    await store.pull(parseReference(floating)); // the old floating image is now dangling
    const before = await store.list();
    expect(before.find((i) => i.id === oldFloatingId)?.names).toEqual([]);

    await expectError(store.pruneExcept([]), 'NoRoots');
    await expectError(store.pruneExcept(['alpine']), 'InvalidReference');
    expect((await store.list()).length).toBe(before.length);

    // Roots as a user writes them: no tag (means :latest), a digest reference, a tag.
    const removed = await store.pruneExcept([
      `${h}/prune/bound`,
      `${h}/prune/pinned@${pinnedDigest}`,
      floating,
    ]);
    expect(removed.sort()).toEqual([junkId, oldFloatingId].sort());
    const after = (await store.list()).map((i) => i.id).sort();
    expect(after).toEqual([boundId, pinnedId, newFloatingId].sort());
    store.close();
    sb.remove();
  });
});

describe('credentials', () => {
  let authRegistry: Registry;
  let authRef: string;
  const good = Buffer.from('alice:secret').toString('base64');
  const bad = Buffer.from('alice:wrong').toString('base64');
  const authJson = (auth: string) => JSON.stringify({ auths: { [authRegistry.host]: { auth } } });

  beforeAll(async () => {
    authRegistry = await startRegistry({
      dir: join(work.path, 'auth-registry'),
      auth: { user: 'alice', password: 'secret' },
    });
    authRef = `${authRegistry.host}/private/img:v1`;
    await builder.buildAndPush(authRef, { creds: 'alice:secret' });
  });
  afterAll(() => authRegistry?.stop());

  function writeAuth(sysroot: string, rel: string, content: string) {
    mkdirSync(join(sysroot, rel, '..'), { recursive: true });
    writeFileSync(join(sysroot, rel), content);
  }

  it('uses only the sysroot auth.json, run > etc > usr/lib, never the caller environment', async () => {
    const sb = makeSandbox([authRegistry.host]);
    // Credentials planted everywhere podman would look for a user's: all must be ignored.
    const home = join(sb.dir, 'home');
    writeAuth(home, '.docker/config.json', authJson(good));
    writeAuth(home, '.config/containers/auth.json', authJson(good));
    writeAuth(home, 'xdg/containers/auth.json', authJson(good));
    const env = {
      ...sb.env,
      HOME: home,
      DOCKER_CONFIG: join(home, '.docker'),
      XDG_RUNTIME_DIR: join(home, 'xdg'),
    };
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env });
    const err = await expectError(store.pull(parseReference(authRef)), 'PullFailed');
    expect(err.message).toMatch(/unauthorized|authentication required/);

    writeAuth(sb.sysroot, 'usr/lib/ostree/auth.json', authJson(good));
    expect((await store.pull(parseReference(authRef))).id).toMatch(/^[0-9a-f]{64}$/);
    writeAuth(sb.sysroot, 'etc/ostree/auth.json', authJson(bad)); // etc wins over usr/lib
    await expectError(store.pull(parseReference(authRef)), 'PullFailed');
    writeAuth(sb.sysroot, 'run/ostree/auth.json', authJson(good)); // run wins over etc
    expect((await store.pull(parseReference(authRef))).id).toMatch(/^[0-9a-f]{64}$/);
    store.close();
    sb.remove();
  });

  it('names a corrupt auth.json without echoing its content', async () => {
    const sb = makeSandbox([authRegistry.host]);
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env });
    writeAuth(sb.sysroot, 'etc/ostree/auth.json', '{"auths": {"x": {"auth": "c2VjcmV0LXRva2Vu"');
    const err = await expectError(store.pull(parseReference(authRef)), 'AuthFileInvalid');
    expect(err.message).toContain(join(sb.sysroot, 'etc/ostree/auth.json'));
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('c2VjcmV0LXRva2Vu');
    store.close();
    sb.remove();
  });
});

describe('host storage and additional image store', () => {
  it('copies from the host default store and lets other podman see the store read-only', async () => {
    const sb = newSandbox();
    // A private "host default store" so the test never touches the machine's /var/lib/containers.
    const hostConf = join(sb.dir, 'host-storage.conf');
    writeFileSync(
      hostConf,
      `[storage]\ndriver = "overlay"\ngraphroot = "${join(sb.dir, 'host-root')}"\nrunroot = "${join(sb.dir, 'host-run')}"\n`,
    );
    const env = { ...sb.env, CONTAINERS_STORAGE_CONF: hostConf };
    const ref = `${registry.host}/host/img:v1`;
    const id = await builder.buildAndPush(ref);
    await run('podman', ['pull', '-q', '--tls-verify=false', ref], { env });
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env });
    await store.pullFromHost(ref);
    expect((await store.list()).map((i) => i.id)).toEqual([id]);
    await expectError(store.pullFromHost(`${registry.host}/host/absent:v1`), 'NotFound');

    const other = join(sb.dir, 'other');
    const { stdout } = await run(
      'podman',
      [
        '--root',
        join(other, 'root'),
        '--runroot',
        join(other, 'run'),
        'image',
        'list',
        '--format',
        '{{.ID}}',
      ],
      { env: { ...process.env, ...store.additionalImageStoreEnv() } },
    );
    expect(id.startsWith(stdout.trim())).toBe(true);
    store.close();
    sb.remove();
  });
});

describe('cancellation and isolation', () => {
  it('cancels a slow pull, kills podman, and the store keeps working', async () => {
    const ref = 'cancel/big:v1';
    await builder.buildAndPush(`${registry.host}/${ref}`, { bytes: 4 * 1024 * 1024 });
    const [rhost, rport] = registry.host.split(':');
    const proxy = await startSlowProxy({ host: rhost!, port: Number(rport) }, 64 * 1024);
    const sb = newSandbox([proxy.host]);
    const store = await Store.create({ sysroot: sb.sysroot, run: sb.run, env: sb.env, killGraceMs: 2000 });
    const ac = new AbortController();
    const started = Date.now();
    const pull = store.pull(parseReference(`${proxy.host}/${ref}`), {
      signal: ac.signal,
      onProgress: (e) => {
        if (e.phase === 'copying-blob') setTimeout(() => ac.abort(), 200);
      },
    });
    await expectError(pull, 'Canceled');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(countStoreProcesses()).toBe(0);
    const { stdout } = await run('pgrep', ['-f', `${proxy.host}/${ref}`]).catch(() => ({ stdout: '' }));
    expect(stdout.trim()).toBe('');
    expect(await store.list()).toEqual([]);
    proxy.setRate(0);
    proxy.setRate(100 * 1024 * 1024);
    expect((await store.pull(parseReference(`${proxy.host}/${ref}`))).id).toMatch(/^[0-9a-f]{64}$/);
    await proxy.close();
    store.close();
    sb.remove();
  });

  // Other files run in parallel and may mount things of their own: here, no mount of ours (the alias or a
  // sandbox) may be left in the host namespace. The serial fault tier compares the whole table.
  it('leaves no mount of ours in the host namespace', () => {
    expect(readOurMounts([work.path, ...ourDirs])).toEqual(mountsBefore);
  });
});
