// Issue 22, item 3: the daemon's image view (List, answered from containers-storage's records by
// src/storage/image-records.ts) agrees with podman 5's own `podman image list` on the same store, field by
// field, for the kinds of images a real store holds: a plain one, a zstd:chunked one, one with two names, a
// dangling one, one pulled by digest. And when the records cannot answer exactly, the daemon falls back to
// podman's list (and says so in its debug log). Debian 13 (podman 5.4.2) only; on Debian 12 the file asserts
// the platform fact that keeps it out (podman 4.3.1, whose list is what image-records.ts was first measured
// against and which test/integration compares already).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRecordsMiss, readImageRecords } from '../../src/storage/image-records.js';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  bootContainer,
  type Container,
  call,
  enableDebugLog,
  listImages,
  onPlatform,
  PLATFORM,
  podmanVersion,
  trustRegistries,
  UNIT,
} from './lib/container.js';
import {
  daemonLines,
  manifestDigest,
  podmanList,
  podmanListRaw,
  pushZstdChunked,
} from './lib/podman-view.js';

if (PLATFORM.generation === 'bookworm') {
  describe(onPlatform("the image view against podman 5's list: not on podman 4.3"), () => {
    let c: Container;
    beforeAll(async () => {
      c = await bootContainer('image-view');
    });
    afterAll(async () => {
      await c?.stop();
    });
    it('has podman 4.3.1, not podman 5 (the comparison runs on Debian 13)', async () => {
      const version = await podmanVersion(c);
      expect(version).toBe('4.3.1');
    });
  });
} else {
  describe(onPlatform("the image view agrees with podman 5's list"), () => {
    let c: Container;
    let registry: Registry;
    let builder: ImageBuilder;
    const tmp = makeTempDir('bsd-system-image-view-');
    let storeOnHost = '';
    /** What each image is, by ID. */
    const ids: Record<string, string> = {};

    const list = async () =>
      (await listImages(c))
        .map(([id, names, digest, size, created]) => ({ id, names, digest, size, created }))
        .sort((a, b) => a.id.localeCompare(b.id));
    /** podman's list without the repo digests, which List does not carry. */
    const podmanRows = async () =>
      (await podmanList(c)).map(({ id, names, digest, size, created }) => ({
        id,
        names,
        digest,
        size,
        created,
      }));

    /**
     * podman's raw list reduced by hand, not by the daemon's parser (which the fallback itself uses): each ID
     * once, with every name its entries print, and its size.
     */
    const rawRows = async () => {
      const byId = new Map<string, { id: string; names: string[]; size: number }>();
      for (const e of await podmanListRaw(c)) {
        const id = e.Id as string;
        const row = byId.get(id) ?? { id, names: [], size: e.Size as number };
        for (const n of (e.Names as string[] | null) ?? []) if (!row.names.includes(n)) row.names.push(n);
        byId.set(id, row);
      }
      return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
    };

    beforeAll(async () => {
      registry = await startRegistry({ dir: join(tmp.path, 'registry') });
      builder = createImageBuilder(tmp.path);
      c = await bootContainer('image-view');
      storeOnHost = join(c.sysroot, 'ostree/bootc/storage');
      await trustRegistries(c, registry.host);
      await enableDebugLog(c);
    });

    afterAll(async () => {
      await c?.stop();
      await registry?.stop();
      tmp.remove();
    });

    it('fills the store through the daemon: plain, zstd:chunked, two names, dangling, by digest', async () => {
      expect(await podmanVersion(c)).toBe('5.4.2');
      const h = registry.host;
      const pull = async (ref: string, policy = 'missing') => call(c, 'Pull', 'ss', [ref, policy]);

      ids.plain = await builder.buildAndPush(`${h}/view/plain:1`, { bytes: 4096 });
      expect(await pull(`${h}/view/plain:1`)).toEqual([true]);

      // zstd:chunked: pushed by the container's podman 5.4 from a gzip image the host built.
      ids.zstd = await builder.buildAndPush(`${h}/view/zstd-src:1`, { bytes: 100_000 });
      await pushZstdChunked(c, `${h}/view/zstd-src:1`, `${h}/view/zstd:1`);
      const zstdManifest = (await (
        await fetch(`http://${h}/v2/view/zstd/manifests/1`, {
          headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).json()) as { layers: { mediaType: string; annotations?: Record<string, string> }[] };
      expect(zstdManifest.layers.map((l) => l.mediaType)).toEqual([
        'application/vnd.oci.image.layer.v1.tar+zstd',
      ]);
      expect(Object.keys(zstdManifest.layers[0]!.annotations ?? {})).toContain(
        'io.github.containers.zstd-chunked.manifest-checksum',
      );
      expect(await pull(`${h}/view/zstd:1`)).toEqual([true]);

      // Two names: one manifest under two tags.
      ids.two = await builder.buildAndPush(`${h}/view/two:a`);
      await builder.podman([
        'push',
        '-q',
        '--tls-verify=false',
        `${h}/view/two:a`,
        `docker://${h}/view/two:b`,
      ]);
      expect(await pull(`${h}/view/two:a`)).toEqual([true]);
      expect(await pull(`${h}/view/two:b`)).toEqual([true]);

      // Dangling: a tag pulled, then pushed again with new content and pulled again.
      ids.dangling = await builder.buildAndPush(`${h}/view/moving:1`);
      expect(await pull(`${h}/view/moving:1`)).toEqual([true]);
      ids.moved = await builder.buildAndPush(`${h}/view/moving:1`);
      expect(ids.moved).not.toBe(ids.dangling);
      expect(await pull(`${h}/view/moving:1`, 'always')).toEqual([true]);

      // By digest.
      ids.byDigest = await builder.buildAndPush(`${h}/view/bydigest:1`);
      const digest = await manifestDigest(h, 'view/bydigest', '1');
      expect(await pull(`${h}/view/bydigest@${digest}`)).toEqual([true]);

      // The pulls went through skopeo: nothing in storage.conf (none on Debian 13) changes a pull.
      const pulling = (await daemonLines(c)).filter((m) => m.startsWith('pulling image'));
      expect(pulling.length).toBeGreaterThanOrEqual(7);
      for (const m of pulling) expect(m).toContain('"copier":"/usr/bin/skopeo"');

      const rows = await list();
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      expect(rows).toHaveLength(6);
      expect(byId[ids.plain!]?.names).toEqual([`${h}/view/plain:1`]);
      expect(byId[ids.zstd!]?.names).toEqual([`${h}/view/zstd:1`]);
      expect([...(byId[ids.two!]?.names ?? [])].sort()).toEqual([`${h}/view/two:a`, `${h}/view/two:b`]);
      expect(byId[ids.dangling!]?.names).toEqual([]);
      expect(byId[ids.moved!]?.names).toEqual([`${h}/view/moving:1`]);
      expect(byId[ids.byDigest!]?.names).toEqual([`${h}/view/bydigest@${digest}`]);
      expect(byId[ids.byDigest!]?.digest).toBe(digest);
    });

    it("List equals podman 5.4's image list field by field (id, names, digest, size, created)", async () => {
      const ours = await list();
      const podmans = await podmanRows();
      process.stderr.write(
        `[image-view] List: ${JSON.stringify(ours)}\n[image-view] podman: ${JSON.stringify(podmans)}\n`,
      );
      expect(ours).toEqual(podmans);
      // podman 5.4 prints the two-name image once per name (each entry with both names); List has it once.
      const raw = await podmanListRaw(c);
      expect(raw.filter((e) => e.Id === ids.two)).toHaveLength(2);
      expect(raw).toHaveLength(ours.length + 1);
    });

    it("the records module's full entries (with repo digests) equal podman's, on the host side of the store", async () => {
      // List carries no repo digests: the module that answers List, run here on the same files, does.
      const records = readImageRecords(storeOnHost, () => '');
      if (isRecordsMiss(records)) throw new Error(`the records missed: ${records.reason}`);
      const sorted = records
        .map((e) => ({ ...e, digests: [...e.digests].sort() }))
        .sort((a, b) => a.id.localeCompare(b.id));
      const podmans = (await podmanList(c)).map((e) => ({ ...e, digests: [...e.digests].sort() }));
      expect(sorted).toEqual(podmans);
      // And the daemon answered List from the records, not from podman.
      expect((await daemonLines(c)).filter((m) => m.startsWith('image records unusable'))).toEqual([]);
    });

    it('falls back to podman when the records cannot answer exactly, and says so', async () => {
      await c.run(['systemctl', 'stop', UNIT]);
      // A layer record without its diff-size: c/storage measures the layer itself then (podman lists it); the
      // records module refuses to guess ("a layer size of image … is not recorded").
      const layersFile = join(storeOnHost, 'overlay-layers/layers.json');
      const layers = JSON.parse(readFileSync(layersFile, 'utf8')) as Record<string, unknown>[];
      const images = JSON.parse(readFileSync(join(storeOnHost, 'overlay-images/images.json'), 'utf8')) as {
        id: string;
        layer: string;
      }[];
      const top = images.find((i) => i.id === ids.plain)!.layer;
      const record = layers.find((l) => l.id === top)!;
      expect(typeof record['diff-size']).toBe('number');
      delete record['diff-size'];
      writeFileSync(layersFile, JSON.stringify(layers));
      const miss = readImageRecords(storeOnHost, () => '');
      expect(isRecordsMiss(miss) && miss.reason).toBe(`a layer size of image ${ids.plain} is not recorded`);

      const ours = await list(); // D-Bus activates the daemon again
      const podmans = await podmanRows();
      expect(ours).toEqual(podmans);
      // The fallback parses podman's output with the same parser as podmanRows: check it against the raw list.
      expect(ours.map(({ id, names, size }) => ({ id, names, size }))).toEqual(await rawRows());
      expect(ours.map((r) => r.id)).toContain(ids.plain);
      const fellBack = (await daemonLines(c)).filter((m) =>
        m.startsWith('image records unusable: asking podman'),
      );
      expect(fellBack.length).toBeGreaterThan(0);
      expect(fellBack.at(-1)).toContain(`a layer size of image ${ids.plain} is not recorded`);
    });
  });
}
