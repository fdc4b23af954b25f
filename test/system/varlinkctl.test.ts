// systemd's own Varlink client, varlinkctl, as the daemon's peer (issue 22, item 5): a client we did not write
// parses our interface description, calls every read method, follows a Pull's progress with --more to its final
// reply, prints our errors by their names, and is refused a Pull by polkit when it runs as nobody.
//
// varlinkctl came with systemd 255. Debian 13 (systemd 257) has it; Debian 12 (systemd 252) has none: there,
// this file asserts exactly that, and the Varlink API is tested with a minimal node client (service.test.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationsOf } from '../../src/core/operations.js';
import { createImageBuilder, type ImageBuilder } from '../helpers/images.js';
import { createSysroot, deploy, imageQuadlet } from '../helpers/ostree-sysroot.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  bootContainer,
  type Container,
  call,
  type ExecOptions,
  type ExecResult,
  onPlatform,
  PLATFORM,
  REPO,
  trustRegistries,
} from './lib/container.js';

const SOCKET = '/run/bootc/org.bootc.Storage';
/** The record separator that starts each record of a JSON text sequence (RFC 7464). */
const RS = '\x1e';
const IDL = readFileSync(join(REPO, 'varlink/org.bootc.Storage.varlink'), 'utf8');

/** An interface description without its comments and layout: what a parser must read from it. */
const declarations = (idl: string) =>
  idl
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join(' ')
    .replace(/\s+/g, ' ')
    .replace(/\s*(->|[(),:])\s*/g, '$1')
    .trim();

if (!PLATFORM.varlinkctl) {
  describe(onPlatform("systemd's varlinkctl"), () => {
    let c: Container;
    beforeAll(async () => {
      c = await bootContainer('varlinkctl');
    });
    afterAll(async () => c?.stop());

    it('does not exist in systemd 252 (varlinkctl came with 255): Varlink is tested with a node client here', async () => {
      expect((await c.run(['systemctl', '--version'])).split('\n')[0]).toMatch(
        new RegExp(`^systemd ${PLATFORM.systemd} `),
      );
      const which = await c.exec(['sh', '-c', 'command -v varlinkctl']);
      expect(which.code).not.toBe(0);
      expect(which.stdout).toBe('');
    });
  });
} else {
  describe(onPlatform("systemd's varlinkctl as the Varlink peer"), () => {
    let c: Container;
    let registry: Registry;
    let builder: ImageBuilder;
    const tmp = makeTempDir('bsd-system-varlinkctl-');
    const refs = { bound: '', host: '', denied: '127.0.0.1:9/denied/image:1' };
    /** The Pull followed with --more: its job, read back with GetJob. */
    let pullJob = 0;

    /** varlinkctl with one-line JSON replies. */
    const varlinkctl = (args: string[], opts?: ExecOptions) =>
      c.exec(['varlinkctl', '--json=short', ...args], opts);
    /** `varlinkctl call SOCKET org.bootc.Storage.METHOD PARAMS`; throws unless it exits 0; the reply. */
    const vcall = async (method: string, params: object = {}): Promise<Record<string, unknown>> => {
      const r = await varlinkctl(['call', SOCKET, `org.bootc.Storage.${method}`, JSON.stringify(params)]);
      expect(r.code, `${method}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    /** The same method over D-Bus (busctl), as the data array. */
    const dbus = (method: string, signature = '', args: string[] = []) => call(c, method, signature, args);
    /** How varlinkctl reports a method's error: its name on stderr, the error's parameters as the output. */
    const expectError = (r: ExecResult, method: string, error: string) => {
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toContain(`Method call ${method}() failed: ${error}`);
    };

    beforeAll(async () => {
      registry = await startRegistry({ dir: join(tmp.path, 'registry') });
      builder = createImageBuilder(tmp.path);
      refs.bound = `${registry.host}/vl/app:1`;
      refs.host = `${registry.host}/vl/os:1`;
      // A bootc host: a read-only /sysroot with one deployment binding one image, no store yet.
      c = await bootContainer('varlinkctl', {
        readOnlySysroot: true,
        prepareSysroot: (dir) => {
          createSysroot(dir, { readonly: true });
          deploy(dir, {
            quadlets: { 'app.image': imageQuadlet(refs.bound) },
            origin: `ostree-unverified-registry:${refs.host}`,
          });
        },
      });
      await trustRegistries(c, registry.host);
      await c.run(['systemctl', 'enable', '--now', 'bootc-storaged.socket']);
    });

    afterAll(async () => {
      await c?.stop();
      await registry?.stop();
      tmp.remove();
    });

    it('introspects the interface: systemd parses every declaration as the file states it', async () => {
      expect((await c.run(['systemctl', '--version'])).split('\n')[0]).toMatch(/^systemd 257 /);
      // The installed file passes systemd's own IDL validator.
      const installed = '/usr/share/varlink/org.bootc.Storage.varlink';
      const valid = await c.exec(['varlinkctl', 'validate-idl', installed]);
      expect({ code: valid.code, stderr: valid.stderr }).toEqual({ code: 0, stderr: '' });
      // The first connection starts the service (socket activation); GetInfo names both interfaces.
      const info = JSON.parse((await varlinkctl(['info', SOCKET])).stdout);
      expect(info).toMatchObject({ vendor: 'bootc', product: 'bootc-storaged' });
      expect(info.interfaces.sort()).toEqual(['org.bootc.Storage', 'org.varlink.service']);
      // What the daemon serves, as systemd's parser read and printed it again (its own layout, its own
      // indentation), is the checked-in interface declaration for declaration.
      const introspected = await c.run(['varlinkctl', 'introspect', SOCKET, 'org.bootc.Storage']);
      expect(introspected).not.toBe(IDL); // reformatted: proof that it was parsed, not passed through
      expect(declarations(introspected)).toBe(declarations(IDL));
      const methods = (await c.run(['varlinkctl', 'list-methods', SOCKET, 'org.bootc.Storage']))
        .trim()
        .split('\n');
      const declared = [...IDL.matchAll(/^method (\w+)\(/gm)].map((m) => `org.bootc.Storage.${m[1]}`);
      expect(methods).toEqual(declared.sort());
      // Every Varlink operation of the table, none more (the file is rendered from it; this is what is served).
      expect(methods.map((m) => m.slice('org.bootc.Storage.'.length)).sort()).toEqual(
        operationsOf('varlink')
          .map((op) => op.name)
          .sort(),
      );
    });

    it("follows a Pull's progress with --more to its final reply", async () => {
      await builder.buildAndPush(refs.bound, { bytes: 8 * 1024 * 1024 });
      await builder.buildAndPush(refs.host);
      const r = await varlinkctl([
        'call',
        '--more',
        '--timeout=120',
        SOCKET,
        'org.bootc.Storage.Pull',
        JSON.stringify({ image: refs.bound, policy: 'always' }),
      ]);
      expect(r.code, r.stderr).toBe(0);
      // With --more, varlinkctl prints each reply as a JSON text sequence record (RFC 7464: RS … LF).
      const records = r.stdout
        .split(RS)
        .flatMap((record) => record.split('\n'))
        .filter((l) => l.trim() !== '');
      const replies = records.map((l) => JSON.parse(l) as Record<string, number | boolean>);
      process.stderr.write(
        `[varlinkctl] Pull --more: ${replies.length} replies, the last ${records.at(-1)}\n`,
      );
      expect(r.stdout.startsWith(RS)).toBe(true);
      // Progress replies (continues: true on the wire), then one final reply that carries `fetched`.
      expect(replies.length).toBeGreaterThanOrEqual(2);
      const final = replies.at(-1)!;
      const progress = replies.slice(0, -1);
      expect(final.fetched).toBe(true);
      for (const p of progress) expect(p).not.toHaveProperty('fetched');
      pullJob = final.job as number;
      expect(pullJob).toBeGreaterThan(0);
      for (const p of replies) expect(p.job).toBe(pullJob);
      const done = replies.map((p) => p.bytesDone as number);
      expect(done).toEqual([...done].sort((a, b) => a - b)); // bytes only ever grow
      // The registry's size of the image (8 MiB of random data does not compress) is known and reached.
      expect(final.bytesTotal).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      expect(final.bytesDone).toBe(final.bytesTotal);
      expect(final.progress).toBe(1);
      expect(final.layersDone).toBe(final.layersTotal);
      expect(progress.some((p) => (p.progress as number) < 1)).toBe(true);
      // The other image, with a plain call: one reply.
      expect(await vcall('Pull', { image: refs.host, policy: 'missing' })).toMatchObject({ fetched: true });
    });

    it('calls every read method, each answering what D-Bus answers', async () => {
      expect(await vcall('Exists', { image: refs.bound })).toEqual({ present: true });
      expect(await vcall('Exists', { image: `${registry.host}/vl/absent:1` })).toEqual({ present: false });

      const { images } = (await vcall('List')) as { images: { id: string; names: string[] }[] };
      const [rows] = (await dbus('List')) as [[string, string[], string, number, number][]];
      expect(images.map((i) => [i.id, i.names])).toEqual(rows.map(([id, names]) => [id, names]));
      expect(images.flatMap((i) => i.names).sort()).toEqual([refs.bound, refs.host].sort());

      const { deployments } = (await vcall('ListDeployments')) as {
        deployments: { deployment: string; role: string; hostImage: string }[];
      };
      const [dbusDeployments] = (await dbus('ListDeployments')) as [[string, string, string][]];
      expect(deployments.map((d) => [d.deployment, d.role, d.hostImage])).toEqual(dbusDeployments);
      expect(deployments).toHaveLength(1);
      expect(deployments[0]!.hostImage).toContain(refs.host);

      const bound = (await vcall('ListBoundImages')) as {
        images: { image: string; deployment: string; file: string; present: boolean }[];
      };
      const [dbusBound] = (await dbus('ListBoundImages')) as [[string, string, string, boolean][]];
      expect(bound.images.map((b) => [b.image, b.deployment, b.file, b.present])).toEqual(dbusBound);
      expect(bound.images).toEqual([
        expect.objectContaining({ image: refs.bound, deployment: deployments[0]!.deployment, present: true }),
      ]);

      const preview = (await vcall('PreviewGarbageCollect')) as {
        images: { id: string; kept: boolean; reason: string }[];
      };
      const [dbusPreview] = (await dbus('PreviewGarbageCollect')) as [[string, boolean, string][]];
      expect(preview.images.map((p) => [p.id, p.kept, p.reason])).toEqual(dbusPreview);
      expect(preview.images).toHaveLength(2);
      expect(preview.images.every((p) => p.kept)).toBe(true); // one bound image, one host image

      // ListJobs lists the queued and running jobs (none now); an ended one stays readable with GetJob.
      const { jobs } = (await vcall('ListJobs')) as {
        jobs: { id: number; kind: string; target: string; state: string }[];
      };
      const [dbusJobs] = (await dbus('ListJobs')) as [[number, string, string, string, string][]];
      expect(jobs.map((j) => [j.id, j.kind, j.target, j.state])).toEqual(dbusJobs.map((j) => j.slice(0, 4)));
      expect(jobs.filter((j) => j.id === pullJob)).toEqual([]);
      const { job } = (await vcall('GetJob', { id: pullJob })) as { job: Record<string, unknown> };
      expect(job).toMatchObject({
        id: pullJob,
        kind: 'pull',
        target: refs.bound,
        state: 'done',
        owner: 0,
        result: { fetched: true },
        errorName: '',
      });
    });

    it('prints errors by their names: ours, and the standard ones of org.varlink.service', async () => {
      const bad = await varlinkctl(['call', SOCKET, 'org.bootc.Storage.Exists', '{"image":"Not A Ref!!"}']);
      expectError(bad, 'org.bootc.Storage.Exists', 'org.bootc.Storage.InvalidReference');
      expect(JSON.parse(bad.stdout).message).toMatch(/^invalid image reference "Not A Ref!!"/);
      // varlinkctl matches errors by name: --graceful turns this one into success.
      const graceful = await varlinkctl([
        'call',
        '--graceful=org.bootc.Storage.InvalidReference',
        SOCKET,
        'org.bootc.Storage.Exists',
        '{"image":"Not A Ref!!"}',
      ]);
      expect(graceful.code, graceful.stderr).toBe(0);

      const gone = await varlinkctl(['call', SOCKET, 'org.bootc.Storage.GetJob', '{"id":999999}']);
      expectError(gone, 'org.bootc.Storage.GetJob', 'org.bootc.Storage.NotFound');
      const missing = await varlinkctl(['call', SOCKET, 'org.bootc.Storage.Exists', '{}']);
      expectError(missing, 'org.bootc.Storage.Exists', 'org.varlink.service.InvalidParameter');
      const unknown = await varlinkctl(['call', SOCKET, 'org.bootc.Storage.Explode', '{}']);
      expectError(unknown, 'org.bootc.Storage.Explode', 'org.varlink.service.MethodNotFound');
      // The service is still there for the next caller.
      expect(await vcall('Exists', { image: refs.bound })).toEqual({ present: true });
    });

    it('runs as nobody: polkit refuses its Pull (PermissionDenied), and it may read', async () => {
      const pull = JSON.stringify({ image: refs.denied, policy: 'always' });
      const denied = await varlinkctl(['call', SOCKET, 'org.bootc.Storage.Pull', pull], { user: 'nobody' });
      expectError(denied, 'org.bootc.Storage.Pull', 'org.varlink.service.PermissionDenied');
      const more = await varlinkctl(['call', '--more', SOCKET, 'org.bootc.Storage.Pull', pull], {
        user: 'nobody',
      });
      expect(more.code).not.toBe(0);
      expect(more.stderr).toContain('org.varlink.service.PermissionDenied');
      // Refused before anything was queued.
      const { jobs } = (await vcall('ListJobs')) as { jobs: { target: string }[] };
      expect(jobs.filter((j) => j.target === refs.denied)).toEqual([]);
      // org.bootc.storage.read is allowed for everyone.
      const exists = await varlinkctl(
        ['call', SOCKET, 'org.bootc.Storage.Exists', JSON.stringify({ image: refs.bound })],
        { user: 'nobody' },
      );
      expect(exists.code, exists.stderr).toBe(0);
      expect(JSON.parse(exists.stdout)).toEqual({ present: true });
      const list = await varlinkctl(['call', SOCKET, 'org.bootc.Storage.List', '{}'], { user: 'nobody' });
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout).images).toHaveLength(2);
      // The service never restarted through all of this.
      expect((await c.show('bootc-storaged.service', 'NRestarts')).NRestarts).toBe('0');
    });
  });
}
