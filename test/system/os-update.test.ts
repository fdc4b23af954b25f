// Issue 22, item 4: an OS update between platform generations. One real ostree sysroot (made by the ostree
// tool, read-only at /sysroot) is booted by one generation, updated (a second deployment, as `bootc upgrade`
// leaves it), booted by the other generation, then booted by the first again (a rollback). The store is
// written by podman 4.3 and podman 5.4 in turn: nothing is lost, each generation's daemon lists exactly what its
// own podman lists, garbage collection keeps the bound images of both deployments on both sides, and the first
// answer after each switch already shows what the other generation did (never a stale view).
//
// The Debian 13 project runs Debian 12 → 13 → 12 (an update, then a rollback); the Debian 12 project runs the
// reverse, 13 → 12 → 13 (a host installed from a newer image, rolled back to an older one, then forward again).

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { createSysroot, deploy, imageQuadlet, makeMutable } from '../helpers/ostree-sysroot.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  bootContainer,
  type Container,
  call,
  enableDebugLog,
  type Generation,
  listImages,
  OTHER_GENERATION,
  onPlatform,
  PLATFORM,
  platformOf,
  podmanVersion,
  trustRegistries,
  UNIT,
} from './lib/container.js';
import { daemonLines, podmanList } from './lib/podman-view.js';

describe(onPlatform(`an OS update from ${platformOf(OTHER_GENERATION).label} and a rollback`), () => {
  let registry: Registry;
  let builder: ImageBuilder;
  const tmp = makeTempDir('bsd-system-os-update-');
  const sysroot = join(tmp.path, 'sysroot');
  const booted: Container[] = [];
  const ref = (name: string) => `${registry.host}/update/${name}`;
  /** Image IDs by reference, as pushed. */
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    registry = await startRegistry({ dir: join(tmp.path, 'registry') });
    builder = createImageBuilder(tmp.path);
    for (const name of ['db:1', 'db:2', 'app:1', 'junk:1', 'junk:2']) {
      ids[name] = await builder.buildAndPush(ref(name), { bytes: 4096 });
    }
    // The host before the update: one deployment, binding db:1.
    createSysroot(sysroot, { readonly: true });
    deploy(sysroot, {
      quadlets: { 'db.image': imageQuadlet(ref('db:1')) },
      origin: `ostree-unverified-registry:${ref('os:1')}`,
    });
  });

  afterAll(async () => {
    for (const c of booted) await c.stop().catch(() => undefined);
    makeMutable(sysroot);
    await registry?.stop();
    tmp.remove();
  });

  /** Boots a generation on the shared sysroot, its podman able to reach the test registry. */
  async function boot(g: Generation): Promise<Container> {
    const c = await bootContainer(`os-update-${g}`, {
      generation: g,
      sysrootDir: sysroot,
      readOnlySysroot: true,
    });
    booted.push(c);
    await trustRegistries(c, registry.host);
    // Debug lines: a read that fell back to podman says so there, and the last check looks for one.
    await enableDebugLog(c);
    return c;
  }

  async function stop(c: Container): Promise<void> {
    expect((await c.show(UNIT, 'NRestarts')).NRestarts).toBe('0');
    await c.stop();
    booted.splice(booted.indexOf(c), 1);
  }

  /** The daemon's List, as podman's rows: sorted by ID. */
  const list = async (c: Container) =>
    (await listImages(c))
      .map(([id, names, digest, size, created]) => ({ id, names: [...names].sort(), digest, size, created }))
      .sort((a, b) => a.id.localeCompare(b.id));
  /** The same store through this boot's own podman. */
  const podmans = async (c: Container) =>
    (await podmanList(c)).map(({ id, names, digest, size, created }) => ({
      id,
      names: [...names].sort(),
      digest,
      size,
      created,
    }));
  const namesOf = async (c: Container) => (await list(c)).flatMap((r) => r.names).sort();
  const pull = async (c: Container, name: string) =>
    expect(await call(c, 'Pull', 'ss', [ref(name), 'missing']), name).toEqual([true]);
  const gc = (c: Container) => c.run(['systemctl', 'start', 'bootc-storaged-gc.service']);
  /** podman's cached network-backend choice, which the store carried from the other generation, was dropped. */
  const droppedBackend = async (c: Container) =>
    (await daemonLines(c)).some((m) => m.startsWith("dropped podman's cached network backend"));
  it('keeps every image and the right roots across the update and the rollback', async () => {
    const from = OTHER_GENERATION;
    const to = PLATFORM.generation;
    const versions: Record<Generation, RegExp> = { bookworm: /^4\.3\./, trixie: /^5\.4\./ };

    // 1. The first generation makes the store and pulls: the bound db:1 and two images nothing binds.
    let c = await boot(from);
    expect(await podmanVersion(c)).toMatch(versions[from]);
    for (const name of ['db:1', 'app:1', 'junk:1']) await pull(c, name);
    const before = await list(c);
    expect(before).toEqual(await podmans(c));
    await stop(c);

    // 2. The update: a new default deployment binding app:1 and db:2; the old one stays as the rollback.
    deploy(sysroot, {
      quadlets: { 'db.image': imageQuadlet(ref('db:2')), 'app.image': imageQuadlet(ref('app:1')) },
      origin: `ostree-unverified-registry:${ref('os:2')}`,
    });

    // 3. The other generation opens the store the first one wrote: the same images, as its own podman lists.
    c = await boot(to);
    expect(await podmanVersion(c)).toMatch(versions[to]);
    const opened = await list(c);
    expect(await droppedBackend(c)).toBe(true);
    expect(opened).toEqual(await podmans(c));
    expect(opened.map((r) => [r.id, r.names])).toEqual(before.map((r) => [r.id, r.names]));
    // It writes: pulls the new deployment's db:2 and one more image nothing binds, then collects.
    await pull(c, 'db:2');
    await pull(c, 'junk:2');
    await gc(c);
    const kept = [ref('app:1'), ref('db:1'), ref('db:2')].sort();
    expect(await namesOf(c)).toEqual(kept);
    const afterUpdate = await list(c);
    expect(afterUpdate).toEqual(await podmans(c));
    expect(afterUpdate.map((r) => r.id).sort()).toEqual([ids['app:1'], ids['db:1'], ids['db:2']].sort());
    await stop(c);

    // 4. The rollback: the first generation again, on the store the second one changed. Its first answer
    // already has db:2 and lacks the collected junk; its podman reads what the newer one wrote.
    c = await boot(from);
    const back = await list(c);
    // Without dropping it, podman 4.3 refuses every command on a store podman 5.4 used ("could not find
    // netavark"), and the GC below could remove nothing.
    expect(await droppedBackend(c)).toBe(true);
    expect(back).toEqual(await podmans(c));
    expect(back.map((r) => [r.id, r.names])).toEqual(afterUpdate.map((r) => [r.id, r.names]));
    // And writes to it: a pull, then a collection that keeps both deployments' bound images.
    await pull(c, 'junk:1');
    expect(await namesOf(c)).toEqual([...kept, ref('junk:1')].sort());
    await gc(c);
    expect(await namesOf(c)).toEqual(kept);
    expect(await list(c)).toEqual(await podmans(c));
    // Nothing in any answer came from a fallback that hid a problem: the records were read every time.
    expect((await daemonLines(c)).filter((m) => /records unusable|failed/i.test(m))).toEqual([]);
    await stop(c);
  });
});
