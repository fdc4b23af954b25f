// Issue 22, item 2: Fedora's storage settings. /usr/share/containers/storage.conf as Fedora's containers-common
// ships it (partial pulls on) makes the daemon pull with podman rather than skopeo (src/storage/copy-pull.ts:
// skopeo only when storage.conf sets nothing a pull depends on). A zstd:chunked image then lands by a partial
// pull (layers.json records a toc-digest for its layer), the job's progress reaches its end, and a slow pull of
// another zstd:chunked image shows its progress as it goes (counted from the store's staging, where a partial
// pull writes) and cancels cleanly. Debian 13 (podman 5.4.2) only; on Debian 12 the file asserts the
// platform fact that keeps it out.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { type SlowProxy, startSlowProxy } from '../helpers/slow-proxy.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  bootContainer,
  type Container,
  call,
  enableDebugLog,
  onPlatform,
  PLATFORM,
  podmanVersion,
  trustRegistries,
  UNIT,
} from './lib/container.js';
import {
  copierProcesses,
  daemonLines,
  jobProperties,
  podmanList,
  pushZstdChunked,
} from './lib/podman-view.js';

/** Fedora's /usr/share/containers/storage.conf, its settings as containers-common ships them (comments aside). */
const FEDORA_STORAGE_CONF = `[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"

[storage.options]
additionalimagestores = [
]
pull_options = {enable_partial_images = "true", use_hard_links = "false", ostree_repos=""}

[storage.options.overlay]
mountopt = "nodev,metacopy=on"
`;

if (PLATFORM.generation === 'bookworm') {
  describe(onPlatform("Fedora's storage settings: podman pulls (partial pulls are Debian 13's)"), () => {
    let c: Container;
    let registry: Registry;
    let builder: ImageBuilder;
    const tmp = makeTempDir('bsd-system-fedora-conf-');
    beforeAll(async () => {
      registry = await startRegistry({ dir: join(tmp.path, 'registry') });
      builder = createImageBuilder(tmp.path);
      c = await bootContainer('fedora-conf');
      await trustRegistries(c, registry.host);
      await c.writeFile('/usr/share/containers/storage.conf', FEDORA_STORAGE_CONF);
    });
    afterAll(async () => {
      await c?.stop();
      await registry?.stop();
      tmp.remove();
    });
    it('takes the podman path with that storage.conf too; podman is 4.3.1, so the partial pull is not tested here', async () => {
      // The zstd:chunked partial pull measured in issue 22 is podman 5's (Debian 13, below).
      expect(await podmanVersion(c)).toBe('4.3.1');
      const ref = `${registry.host}/fedora/plain:1`;
      const id = await builder.buildAndPush(ref);
      expect(await call(c, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
      const [rows] = (await call(c, 'List')) as [[string, string[], string, number, number][]];
      expect(rows.find(([i]) => i === id)?.[1]).toEqual([ref]);
      const pulling = (await daemonLines(c)).filter((m) => m.startsWith('pulling image') && m.includes(ref));
      expect(pulling).toHaveLength(1);
      expect(pulling[0]).toContain('"copier":"podman"');
    });
  });
} else {
  describe(onPlatform("Fedora's storage settings: podman pulls, partially"), () => {
    let c: Container;
    let registry: Registry;
    let proxy: SlowProxy;
    let builder: ImageBuilder;
    const tmp = makeTempDir('bsd-system-fedora-conf-');
    let storeOnHost = '';

    /** Follows a job's properties until it ends; returns the last reading and every reading on the way. */
    const follow = async (id: number, timeoutMs = 300_000) => {
      const seen: Record<string, unknown>[] = [];
      // waitFor returns only a truthy answer: an ended job's reading.
      const last = (await waitFor(
        async () => {
          const p = await jobProperties(c, id, 'State', 'BytesDone', 'BytesTotal', 'Progress', 'ErrorName');
          seen.push(p);
          return ['done', 'failed', 'canceled'].includes(String(p.State)) ? p : undefined;
        },
        `job ${id} to end`,
        timeoutMs,
        200,
      )) as Record<string, unknown>;
      return { last, seen };
    };
    const startPull = async (ref: string) => {
      const [id] = (await call(c, 'StartPull', 'ss', [ref, 'always'])) as [number, string];
      return id;
    };

    beforeAll(async () => {
      registry = await startRegistry({ dir: join(tmp.path, 'registry') });
      proxy = await startSlowProxy({ host: '127.0.0.1', port: registry.port }, 100 * 1024 * 1024);
      builder = createImageBuilder(tmp.path);
      c = await bootContainer('fedora-conf');
      storeOnHost = join(c.sysroot, 'ostree/bootc/storage');
      await trustRegistries(c, registry.host, proxy.host);
      // Written before the daemon's first start: it decides its copier when it opens the store.
      await c.writeFile('/usr/share/containers/storage.conf', FEDORA_STORAGE_CONF);
      await enableDebugLog(c);
    });

    afterAll(async () => {
      await c?.stop();
      await proxy?.close();
      await registry?.stop();
      tmp.remove();
    });

    it('pulls a zstd:chunked image with podman, partially, and its progress reaches the end', async () => {
      expect(await podmanVersion(c)).toBe('5.4.2');
      const h = registry.host;
      const id = await builder.buildAndPush(`${h}/fedora/src:1`, { bytes: 2 * 1024 * 1024 });
      await pushZstdChunked(c, `${h}/fedora/src:1`, `${h}/fedora/chunked:1`);
      const ref = `${h}/fedora/chunked:1`;

      const job = await startPull(ref);
      const { last, seen } = await follow(job);
      process.stderr.write(
        `[fedora-conf] job ${job}: ${seen.length} readings, last ${JSON.stringify(last)}\n`,
      );
      expect(last).toMatchObject({ State: 'done', ErrorName: '' });
      expect(last.BytesTotal as number).toBeGreaterThan(0);
      expect(last.BytesDone).toBe(last.BytesTotal);
      expect(last.Progress).toBe(1);
      expect((await jobProperties(c, job, 'Result')).Result).toEqual({ type: 'b', data: true });

      // It landed.
      const [rows] = (await call(c, 'List')) as [[string, string[], string, number, number][]];
      expect(rows.find(([i]) => i === id)?.[1]).toEqual([ref]);

      // podman pulled it (storage.conf sets pull options skopeo's containers-storage: reference would not use).
      const pulling = (await daemonLines(c)).filter((m) => m.startsWith('pulling image') && m.includes(ref));
      expect(pulling).toHaveLength(1);
      expect(pulling[0]).toContain('"copier":"podman"');
      // The copy itself was `podman … pull` (skopeo only read the manifest, for the progress totals: `skopeo
      // inspect --raw`); no `skopeo copy` ran.
      const ran = (await daemonLines(c))
        .filter((m) => m.startsWith('running podman {') && m.includes(ref))
        .map((m) => (JSON.parse(m.slice('running podman '.length)) as { args: string[] }).args);
      process.stderr.write(`[fedora-conf] ran: ${JSON.stringify(ran)}\n`);
      expect(
        ran.filter((a) => a.includes('pull') && a.at(-1) === ref && a[0] !== '/usr/bin/skopeo'),
      ).toHaveLength(1);
      expect(ran.filter((a) => a[0] === '/usr/bin/skopeo' && a.includes('copy'))).toEqual([]);

      // A partial pull: the layer's record carries the TOC digest of the zstd:chunked blob.
      const images = JSON.parse(readFileSync(join(storeOnHost, 'overlay-images/images.json'), 'utf8')) as {
        id: string;
        layer: string;
      }[];
      const layers = JSON.parse(
        readFileSync(join(storeOnHost, 'overlay-layers/layers.json'), 'utf8'),
      ) as Record<string, unknown>[];
      const top = images.find((i) => i.id === id)?.layer;
      const layer = layers.find((l) => l.id === top);
      process.stderr.write(`[fedora-conf] layer record: ${JSON.stringify(layer)}\n`);
      expect(layer?.['toc-digest']).toMatch(/^sha256:[a-f0-9]{64}$/);

      // The daemon's view of a partially pulled image is podman's (List is answered from the records).
      const [after] = (await call(c, 'List')) as [[string, string[], string, number, number][]];
      const podmans = (await podmanList(c)).map((e) => [e.id, e.names, e.digest, e.size, e.created]);
      expect([...after].sort((a, b) => a[0].localeCompare(b[0]))).toEqual(podmans);
      expect((await daemonLines(c)).filter((m) => m.startsWith('image records unusable'))).toEqual([]);
    });

    it('shows a slow partial pull’s progress as it goes, cancels it; nothing is left running; the next pull works', async () => {
      const h = registry.host;
      const id = await builder.buildAndPush(`${h}/fedora/big-src:1`, { bytes: 16 * 1024 * 1024 });
      await pushZstdChunked(c, `${h}/fedora/big-src:1`, `${h}/fedora/big:1`);
      // Through the throttling proxy: 16 MiB of random data at 128 KiB/s is two minutes.
      proxy.setRate(128 * 1024);
      const ref = `${proxy.host}/fedora/big:1`;
      const job = await startPull(ref);
      await waitFor(
        async () =>
          (await jobProperties(c, job, 'State')).State === 'running' &&
          (await copierProcesses(c)).includes('podman'),
        `job ${job} to run podman`,
        120_000,
        200,
      );
      // Into the transfer: a partial pull writes into the store's own staging (not the pull's TMPDIR), and the
      // job's progress counts it as it grows, long before the end.
      const readings: Record<string, unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 1000)); // a reading a second
        const p = await jobProperties(c, job, 'State', 'BytesDone', 'BytesTotal', 'Progress');
        const staged = execFileSync('du', ['-sb', join(storeOnHost, 'overlay')], { encoding: 'utf8' }).split(
          '\t',
        )[0];
        process.stderr.write(
          `[fedora-conf] slow pull after ${i + 1} s: ${JSON.stringify(p)}, store overlay/ ${staged} bytes\n`,
        );
        readings.push(p);
      }
      expect((await jobProperties(c, job, 'State')).State).toBe('running');
      const done = readings.map((p) => p.BytesDone as number);
      expect(done.at(-1)).toBeGreaterThan(0);
      expect(done.at(-1)).toBeGreaterThan(done[0]!); // it grows with the transfer
      expect(done.at(-1)).toBeLessThan(readings.at(-1)!.BytesTotal as number);
      await call(c, 'CancelJob', 'u', [String(job)]);
      const { last } = await follow(job, 120_000);
      process.stderr.write(`[fedora-conf] canceled job ${job}: ${JSON.stringify(last)}\n`);
      expect(last.State).toBe('canceled');
      expect(last.ErrorName).not.toBe('');
      expect(last.Progress as number).toBeLessThan(1); // canceled mid-transfer, not at its end

      // No podman, skopeo or conmon left behind (the daemon stops the pull's whole process group).
      await waitFor(async () => (await copierProcesses(c)).length === 0, 'no copier left', 10_000, 200);
      expect(await copierProcesses(c)).toEqual([]);
      expect(await call(c, 'Exists', 's', [ref])).toEqual([false]);

      // The next pull of the same image, at full speed, works.
      proxy.setRate(100 * 1024 * 1024);
      expect(await call(c, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
      const [rows] = (await call(c, 'List')) as [[string, string[], string, number, number][]];
      expect(rows.find(([i]) => i === id)?.[1]).toEqual([ref]);
      expect((await c.show(UNIT, 'NRestarts')).NRestarts).toBe('0');
    });
  });
}
