// Image work through the installed, sandboxed service: a pull from a registry on the host's loopback, the
// unpacking of layers the sandbox could break, and bootc-storaged-gc.service removing what no deployment
// references while keeping bound and host images. One booted container, one registry on the host.

import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { createSysroot, deploy, imageQuadlet, makeMutable } from '../helpers/ostree-sysroot.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  bootContainer,
  busctlCall,
  type Container,
  call,
  listImages,
  onPlatform,
  PLATFORM,
  trustRegistries,
} from './lib/container.js';
import { pushLayeredImage } from './lib/oci-image.js';

let c: Container;
let registry: Registry;
let builder: ImageBuilder;
const tmp = makeTempDir('bsd-system-');

const list = async () => listImages(c);
const ids = async () => (await list()).map(([id]) => id).sort();

beforeAll(async () => {
  registry = await startRegistry({ dir: join(tmp.path, 'registry') });
  builder = createImageBuilder(tmp.path);
  c = await bootContainer('images');
  // nspawn shares the host's network: the registry on the host's 127.0.0.1 is the container's too. It speaks
  // plain HTTP, which podman only accepts for registries marked insecure in the system's registries.conf.
  await trustRegistries(c, registry.host);
});

afterAll(async () => {
  if (c) makeMutable(c.sysroot); // in case a deployment kept ostree's immutable attribute
  await c?.stop();
  await registry?.stop();
  tmp.remove();
});

describe(onPlatform('images through the installed service'), () => {
  it('pulls an image from a registry on the host loopback', async () => {
    const ref = `${registry.host}/app/pulled:v1`;
    const id = await builder.buildAndPush(ref);
    expect(await call(c, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
    expect(registry.countManifestGets('app/pulled')).toBeGreaterThan(0);
    expect(await call(c, 'Exists', 's', [ref])).toEqual([true]);
    const row = (await list()).find(([i]) => i === id);
    expect(row?.[1]).toEqual([ref]);
    // Again with "missing": nothing fetched.
    expect(await call(c, 'Pull', 'ss', [ref, 'missing'])).toEqual([false]);
    expect((await c.show('bootc-storaged.service', 'ActiveState')).ActiveState).toBe('active');
  });

  it('unpacks setuid files, whiteouts and foreign owners under the unit sandbox', async () => {
    const ref = `${registry.host}/app/layered:v1`;
    await pushLayeredImage(join(tmp.path, 'layered'), ref);
    expect(await call(c, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
    // The layers as podman's overlay driver stored them, read from the host side of /sysroot.
    const overlay = join(c.sysroot, 'ostree/bootc/storage/overlay');
    const found = (rel: string) =>
      readdirSync(overlay)
        .map((layer) => join(overlay, layer, 'diff', rel))
        .flatMap((p) => {
          try {
            return [lstatSync(p)];
          } catch {
            return [];
          }
        });
    const [suid] = found('usr/bin/suid-tool');
    expect(suid && (suid.mode & 0o7777).toString(8)).toBe('4755');
    const [owned] = found('srv/owned');
    expect(owned && [owned.uid, owned.gid]).toEqual([1234, 1234]);
    const [whiteout] = found('etc/doomed').filter((s) => s.isCharacterDevice());
    expect(whiteout?.rdev).toBe(0); // overlayfs's whiteout: a 0:0 character device
    expect(found('etc/marker')).toHaveLength(1);
  });

  it("copies an image from the host's own podman store (PullFromHost)", async () => {
    const ref = `${registry.host}/app/from-host:v1`;
    const id = await builder.buildAndPush(ref);
    // Into the container's default store (/var/lib/containers/storage) with its own podman CLI.
    await c.run(['podman', 'pull', '-q', ref]);
    expect(await call(c, 'Exists', 's', [ref])).toEqual([false]);
    expect(await call(c, 'PullFromHost', 's', [ref])).toEqual([]);
    expect(await call(c, 'Exists', 's', [ref])).toEqual([true]);
    expect((await list()).find(([i]) => i === id)?.[1]).toEqual([ref]);
    // An image the host store does not have is NotFound, not a sandbox error.
    const missing = await busctlCall(c, 'PullFromHost', 's', [`${registry.host}/app/nowhere:v1`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not in the host's container storage/);
  });

  it('bootc-storaged-gc.service removes unreferenced images and keeps bound and host images', async () => {
    const h = registry.host;
    const bound = `${h}/bound/app:v1`;
    const hostImage = `${h}/host/os:v1`;
    const junk = `${h}/junk/old:v1`;
    const id: Record<string, string> = {};
    for (const [k, ref] of Object.entries({ bound, hostImage, junk })) {
      id[k] = await builder.buildAndPush(ref);
      expect(await call(c, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
    }
    const before = await ids();
    expect(before).toEqual(expect.arrayContaining(Object.values(id)));

    // Not an ostree host yet (no deployments): the unit is skipped by its condition and removes nothing.
    // (Its ConditionResult property cannot tell: systemd unloads an inactive oneshot and forgets it.) systemd
    // logs the skip in words of its version: the exact line of this platform's systemd (PLATFORM).
    const { Description } = await c.show('bootc-storaged-gc.service', 'Description');
    const skippedLine = PLATFORM.skippedByCondition(
      'bootc-storaged-gc.service',
      Description!,
      'ConditionPathIsDirectory=/sysroot/ostree/deploy',
    );
    const gcJournal = async () => {
      const entries = await c.journal('bootc-storaged-gc.service');
      return {
        skipped: entries.filter((e) => e.MESSAGE === skippedLine).length,
        replies: entries.filter((e) => e.SYSLOG_IDENTIFIER === 'bootc-storaged-gc').map((e) => e.MESSAGE!),
        finished: entries.filter((e) => e.MESSAGE?.startsWith('Finished bootc-storaged-gc.service')).length,
      };
    };
    await c.run(['systemctl', 'start', 'bootc-storaged-gc.service']);
    expect(await gcJournal()).toEqual({ skipped: 1, replies: [], finished: 0 });
    expect(await ids()).toEqual(before);

    // Now it becomes one: the host side of /sysroot is made an ostree sysroot (`ostree admin init-fs` leaves
    // the existing store alone) and gets one real deployment, as bootc lays it out: a bound image through
    // usr/lib/bootc/bound-images.d/app.image → a quadlet inside the deployment root, and the host image in the
    // deployment's .origin file. Mutable, so that run.sh can delete the run directory of a killed test.
    createSysroot(c.sysroot);
    deploy(c.sysroot, {
      quadlets: { 'app.image': imageQuadlet(bound) },
      origin: `ostree-unverified-registry:${hostImage}`,
      mutable: true,
    });
    const started = Date.now();
    await c.run(['systemctl', 'start', 'bootc-storaged-gc.service']); // a oneshot: returns when it is done
    const gcMs = Date.now() - started;
    // systemctl start exited 0: the oneshot ran to completion and succeeded.
    const journal = await gcJournal();
    expect(journal).toMatchObject({ skipped: 1, finished: 1 });

    const expectedRemoved = before.filter((i) => i !== id.bound && i !== id.hostImage).sort();
    expect(expectedRemoved).toContain(id.junk);
    expect(await ids()).toEqual([id.bound!, id.hostImage!].sort());
    expect(await call(c, 'Exists', 's', [junk])).toEqual([false]);

    // What was removed is in the unit's journal, as busctl printed the reply.
    expect(journal.replies).toHaveLength(1);
    const reply = JSON.parse(journal.replies[0]!) as { type: string; data: [string[]] };
    expect(reply.type).toBe('as');
    expect(reply.data[0].sort()).toEqual(expectedRemoved);
    process.stderr.write(`[system] gc run took ${gcMs} ms, removed ${expectedRemoved.length} images\n`);
  });
});
