// The installed service on systems booted the way bootc hosts boot: a real ostree sysroot (made by the ostree
// tool, with a booted-style and a rollback deployment) mounted read-only at /sysroot (--bind-ro, and
// sysroot.readonly=true), with no ostree/bootc yet; the composefs layout; and a store that cannot be made,
// fixed while the service runs. The first call D-Bus-activates the service each time; it never restarts.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { createSysroot, deploy, imageQuadlet } from '../helpers/ostree-sysroot.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  bootContainer,
  busctlCall,
  type Container,
  call,
  listImages,
  onPlatform,
  trustRegistries,
  UNIT,
} from './lib/container.js';

let registry: Registry;
let builder: ImageBuilder;
const tmp = makeTempDir('bsd-system-host-');

beforeAll(async () => {
  registry = await startRegistry({ dir: join(tmp.path, 'registry') });
  builder = createImageBuilder(tmp.path);
});
afterAll(async () => {
  await registry?.stop();
  tmp.remove();
});

/** Boots with a read-only /sysroot made by `prepare`, and lets podman reach the test registry. */
async function bootHost(name: string, prepare: (dir: string) => void): Promise<Container> {
  const c = await bootContainer(name, { prepareSysroot: prepare, readOnlySysroot: true });
  await trustRegistries(c, registry.host);
  return c;
}

/** A policy's file contexts, with distinct labels for the store and its layers (as container-selinux has). */
const FILE_CONTEXTS = [
  '/\tsystem_u:object_r:root_t:s0',
  '/.*\tsystem_u:object_r:default_t:s0',
  '/var/lib/containers(/.*)?\tsystem_u:object_r:container_var_lib_t:s0',
  '/var/lib/containers/storage/overlay(/.*)?\tsystem_u:object_r:container_ro_file_t:s0',
  '',
].join('\n');

/** Two deployments as `bootc switch` leaves them: the newest (default, with an SELinux policy) and its rollback. */
function twoDeployments(sysroot: string, refs: { rollback: string; booted: string; os: string }) {
  deploy(sysroot, {
    quadlets: { 'db.image': imageQuadlet(refs.rollback) },
    origin: `ostree-unverified-registry:${refs.os}`,
  });
  deploy(sysroot, {
    quadlets: { 'db.image': imageQuadlet(refs.booted) },
    origin: `ostree-unverified-registry:${refs.os}`,
    selinux: { type: 'bsdtest', fileContexts: FILE_CONTEXTS },
    // A merge into a policy deployment runs semodule under bwrap (absent here); keep the rollback explicitly.
    merge: false,
    retain: true,
  });
}

const label = (path: string) =>
  execFileSync('getfattr', ['-h', '--only-values', '-n', 'security.selinux', path], { encoding: 'utf8' })
    .replace(/\0$/, '')
    .trim();

/** Waits for systemd to have READY=1 (it follows the first answer by milliseconds, one datagram). */
async function waitActive(c: Container) {
  for (let i = 0; i < 100; i++) {
    if ((await c.show(UNIT, 'ActiveState')).ActiveState === 'active') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${UNIT} never became active`);
}

async function expectReadOnlyOutside(c: Container, path: string) {
  const r = await c.exec(['touch', path]);
  expect(r.code, `touch ${path}`).not.toBe(0);
  expect(r.stderr).toMatch(/Read-only file system/);
}

const names = async (c: Container) => (await listImages(c)).flatMap(([, n]) => n).sort();

async function pullAll(c: Container, refs: string[]) {
  for (const ref of refs) {
    await builder.buildAndPush(ref);
    expect(await call(c, 'Pull', 'ss', [ref, 'missing']), ref).toEqual([true]);
  }
}

describe(onPlatform('a read-only /sysroot on a fresh host (no ostree/bootc)'), () => {
  let c: Container;
  const h = () => registry.host;
  beforeAll(async () => {
    c = await bootHost('ro-fresh', (dir) => {
      createSysroot(dir, { readonly: true });
      twoDeployments(dir, {
        rollback: `${h()}/ro/db:1`,
        booted: `${h()}/ro/db:2`,
        os: `${h()}/ro/os:1`,
      });
    });
  });
  afterAll(async () => c?.stop());

  it('activates on the first call, creates the store, and /sysroot stays read-only outside it', async () => {
    await expectReadOnlyOutside(c, '/sysroot/probe');
    expect(existsSync(join(c.sysroot, 'ostree/bootc'))).toBe(false);
    expect((await c.show(UNIT, 'ActiveState')).ActiveState).toBe('inactive');

    expect(await call(c, 'List')).toEqual([[]]);
    await waitActive(c);
    const props = await c.show(UNIT, 'ActiveState', 'StatusText', 'NRestarts', 'MainPID');
    expect(props).toMatchObject({
      ActiveState: 'active',
      StatusText: 'serving /sysroot/ostree/bootc/storage',
      NRestarts: '0',
    });
    expect(statSync(join(c.sysroot, 'ostree/bootc/storage/overlay-images')).isDirectory()).toBe(true);
    // Outside the service nothing can write there; inside its own namespace only bootc's directory is
    // writable, the rest of /sysroot is as read-only as everywhere else.
    await expectReadOnlyOutside(c, '/sysroot/ostree/bootc/probe');
    const pid = props.MainPID ?? '0';
    await c.run(['nsenter', '-t', pid, '-m', '--', 'touch', '/sysroot/ostree/bootc/probe']);
    const elsewhere = await c.exec(['nsenter', '-t', pid, '-m', '--', 'touch', '/sysroot/probe']);
    expect(elsewhere.stderr).toMatch(/Read-only file system/);
    rmSync(join(c.sysroot, 'ostree/bootc/probe'), { force: true });
    // Labelled from the default deployment's policy (no policy is loaded here), then stamped, as upstream.
    const store = join(c.sysroot, 'ostree/bootc/storage');
    expect(label(store)).toBe('system_u:object_r:container_var_lib_t:s0');
    expect(label(join(store, 'overlay'))).toBe('system_u:object_r:container_ro_file_t:s0');
    expect(existsSync(join(store, '.bootc_labeled'))).toBe(true);
    // The container's own mount of /sysroot is unchanged: still read-only.
    const mounts = await c.run(['findmnt', '-n', '-o', 'OPTIONS', '/sysroot']);
    expect(mounts.split(',')).toContain('ro');
  });

  it('pulls, and bootc-storaged-gc.service keeps bound and host images and removes the rest', async () => {
    const h = registry.host;
    const keep = [`${h}/ro/db:1`, `${h}/ro/db:2`, `${h}/ro/os:1`];
    const junk = [`${h}/ro/junk:1`, `${h}/ro/junk:2`];
    await pullAll(c, [...keep, ...junk]);
    await c.run(['systemctl', 'start', 'bootc-storaged-gc.service']);
    expect(await names(c)).toEqual([...keep].sort());
    expect(existsSync(join(c.sysroot, 'ostree/lock'))).toBe(false); // libostree's lock, taken and released
    expect((await c.show(UNIT, 'NRestarts')).NRestarts).toBe('0');
    await expectReadOnlyOutside(c, '/sysroot/ostree/bootc/probe');
  });
});

describe(onPlatform('the composefs layout, read-only'), () => {
  let c: Container;
  beforeAll(async () => {
    c = await bootHost('composefs', (dir) => {
      createSysroot(dir, { readonly: true });
      mkdirSync(join(dir, 'composefs'), { mode: 0o700 });
      deploy(dir, { quadlets: { 'app.image': imageQuadlet(`${registry.host}/cfs/app:1`) } });
    });
  });
  afterAll(async () => c?.stop());

  it('keeps the store in composefs/bootc behind the ostree/bootc link, and GC works through it', async () => {
    const h = registry.host;
    await pullAll(c, [`${h}/cfs/app:1`, `${h}/cfs/junk:1`]);
    expect(readlinkSync(join(c.sysroot, 'ostree/bootc'))).toBe('../composefs/bootc');
    expect(statSync(join(c.sysroot, 'composefs')).mode & 0o777).toBe(0o700);
    expect(statSync(join(c.sysroot, 'composefs/bootc/storage/overlay-images')).isDirectory()).toBe(true);
    const ino = lstatSync(join(c.sysroot, 'ostree/bootc')).ino;
    await c.run(['systemctl', 'start', 'bootc-storaged-gc.service']);
    expect(await names(c)).toEqual([`${h}/cfs/app:1`]);
    expect(lstatSync(join(c.sysroot, 'ostree/bootc')).ino).toBe(ino);
    expect((await c.show(UNIT, 'NRestarts')).NRestarts).toBe('0');
    await expectReadOnlyOutside(c, '/sysroot/composefs/bootc/probe');
  });
});

describe(onPlatform('a store that cannot be made, then an existing ostree/bootc'), () => {
  let c: Container;
  beforeAll(async () => {
    c = await bootHost('degraded', (dir) => {
      createSysroot(dir, { readonly: true });
      writeFileSync(join(dir, 'ostree/bootc'), 'a file where a directory should be\n');
    });
  });
  afterAll(async () => c?.stop());

  it('answers at once with the reason, shows it in systemctl status, and never restarts', async () => {
    for (const [method, sig, args] of [
      ['List', '', []],
      ['Exists', 's', [`${registry.host}/x/y:1`]],
      ['Pull', 'ss', [`${registry.host}/x/y:1`, 'missing']],
    ] as const) {
      const t0 = Date.now();
      const r = await busctlCall(c, method, sig, [...args]);
      // The first call includes D-Bus activation and the daemon's start; never busctl's 25 s timeout.
      expect(Date.now() - t0, method).toBeLessThan(method === 'List' ? 10_000 : 1000);
      expect(r.code, method).not.toBe(0);
      expect(r.stderr, method).toMatch(/ostree\/bootc exists but is not a directory/);
    }
    await waitActive(c);
    const props = await c.show(UNIT, 'ActiveState', 'StatusText', 'NRestarts');
    expect(props.ActiveState).toBe('active');
    expect(props.StatusText).toMatch(/^degraded: .*\/sysroot\/ostree\/bootc exists but is not a directory/);
    expect(props.NRestarts).toBe('0');
    const status = await c.exec(['systemctl', 'status', '--no-pager', UNIT]);
    expect(status.stdout).toMatch(/Status: "degraded: /);
  });

  it('works after the cause is fixed, with no restart: the next write retries', async () => {
    rmSync(join(c.sysroot, 'ostree/bootc'));
    mkdirSync(join(c.sysroot, 'ostree/bootc'), { mode: 0o700 }); // an existing, empty ostree/bootc
    const ref = `${registry.host}/fixed/app:1`;
    await pullAll(c, [ref]);
    expect(await call(c, 'Exists', 's', [ref])).toEqual([true]);
    const props = await c.show(UNIT, 'StatusText', 'NRestarts');
    expect(props).toEqual({ StatusText: 'serving /sysroot/ostree/bootc/storage', NRestarts: '0' });
    await expectReadOnlyOutside(c, '/sysroot/ostree/bootc/probe');
  });
});
