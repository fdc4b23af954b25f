// org.bootc.Storage over Varlink, against the real daemon (the bundle) with real podman, a registry and the
// throttling proxy: every method, Pull streaming progress with "more", a disconnect that leaves its job
// running, CancelJob from another connection, the standard errors and limits on the daemon's socket, the
// root-only socket, and socket activation through systemd-socket-activate.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VarlinkCallError, VarlinkClient, type VarlinkReply } from '../../src/api/varlink/client.js';
import type { VarlinkParams } from '../../src/api/varlink/protocol.js';
import { JOB_FIELDS } from '../../src/core/job-fields.js';
import { VERSION } from '../../src/version.js';
import { DAEMON_BUNDLE } from '../helpers/daemon.js';
import { createSysroot, deploy } from '../helpers/ostree-sysroot.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { REPO } from '../helpers/system-bus.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const FAST = 1024 * 1024 * 1024;
/** ~2 MB of random data: one layer podman cannot compress. */
const TWO_MB = 2 * 1024 * 1024;
const S = 'org.bootc.Storage';

const dir = makeTempDir('bsd-varlink-api-');
chmodSync(dir.path, 0o755); // so only the socket's own mode keeps other users out
const SOCKET = join(dir.path, 'org.bootc.Storage');
let s: Stack;
let ref: string;
let refId: string;
const clients: VarlinkClient[] = [];

beforeAll(async () => {
  s = await startStack({
    daemonArgs: ['--varlink-socket', SOCKET],
    beforeDaemon: (sandbox) => void createSysroot(sandbox.sysroot), // an ostree sysroot, as on a host
  });
  ref = `${s.registry.host}/vl/hello:v1`;
  refId = await s.builder.buildAndPush(ref, { bytes: 256 * 1024 });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await s?.stop();
  dir.remove();
});

async function client(path = SOCKET): Promise<VarlinkClient> {
  const c = await VarlinkClient.connect(path);
  clients.push(c);
  return c;
}

async function errorOf(p: Promise<unknown>): Promise<{ error: string; parameters: VarlinkParams }> {
  return p.then(
    () => ({ error: 'no error', parameters: {} }),
    (e: unknown) => {
      if (e instanceof VarlinkCallError) return { error: e.error, parameters: e.parameters };
      throw e;
    },
  );
}
const errorName = async (p: Promise<unknown>) => (await errorOf(p)).error;

interface JobInfo {
  id: number;
  kind: string;
  target: string;
  state: string;
  progress: number;
  bytesDone: number;
  bytesTotal: number;
  layersDone: number;
  layersTotal: number;
  owner: number;
}
const listJobs = async (c: VarlinkClient) => (await c.call<{ jobs: JobInfo[] }>(`${S}.ListJobs`)).jobs;

interface PullReply {
  job: number;
  progress: number;
  bytesDone: number;
  bytesTotal: number;
  layersDone: number;
  layersTotal: number;
  fetched?: boolean;
}

describe('the socket', () => {
  it('is a socket anyone may connect to (calls are authorized by polkit), and says who it is', async () => {
    const st = statSync(SOCKET);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o666);
    expect(st.uid).toBe(0);
    const c = await client();
    expect(await c.call('org.varlink.service.GetInfo')).toEqual({
      vendor: 'bootc',
      product: 'bootc-storaged',
      version: VERSION,
      url: '',
      interfaces: ['org.varlink.service', S],
    });
    const { description } = await c.call<{ description: string }>(
      'org.varlink.service.GetInterfaceDescription',
      { interface: S },
    );
    expect(description).toBe(readFileSync(join(REPO, 'varlink/org.bootc.Storage.varlink'), 'utf8'));
  });

  it('asks polkit about each peer process: nobody may read, is refused a Pull before anything is queued', async () => {
    // A separate process as nobody, speaking raw Varlink: one call per line of output.
    const script = `
      const net = require('node:net');
      const calls = ${JSON.stringify([
        ['org.varlink.service.GetInfo', {}],
        [`${S}.Exists`, { image: ref }],
        [`${S}.List`, {}],
        [`${S}.Pull`, { image: `${s.registry.host}/vl/denied:v1`, policy: 'always' }],
        [`${S}.Remove`, { images: [ref] }],
        [`${S}.CancelJob`, { id: 1 }],
      ])};
      const sock = net.connect(process.argv[1]);
      let buf = '';
      let i = 0;
      const next = () => i < calls.length ? sock.write(JSON.stringify({ method: calls[i][0], parameters: calls[i][1] }) + '\\0') : sock.end();
      sock.on('connect', next);
      sock.on('data', (d) => {
        buf += d;
        let z;
        while ((z = buf.indexOf('\\0')) >= 0) { console.log(buf.slice(0, z)); buf = buf.slice(z + 1); i++; next(); }
      });`;
    const { stdout } = await run(process.execPath, ['-e', script, SOCKET], { uid: 65534, gid: 65534 });
    const replies = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error?: string; parameters?: VarlinkParams });
    expect(replies[0]?.error).toBeUndefined(); // GetInfo
    expect(replies[1]).toEqual({ parameters: { present: false } }); // Exists: read is allowed
    expect(replies[2]?.error).toBeUndefined(); // List
    expect(replies[3]?.error).toBe('org.varlink.service.PermissionDenied'); // Pull: polkit refuses
    expect(replies[4]?.error).toBe('org.varlink.service.PermissionDenied'); // Remove
    expect(replies[5]?.error).toMatch(/PermissionDenied|NotFound/); // CancelJob of a job it never had
    // Nothing reached the queue or the registry for the refused calls.
    expect(await listJobs(await client())).toEqual([]);
    expect(s.registry.countManifestGets('vl/denied')).toBe(0);
    expect(s.daemon.output()).toMatch(
      /"wire":"org\.varlink\.service\.PermissionDenied".*org\.bootc\.storage\.pull/,
    );
  });
});

describe('every method', () => {
  it('pulls, checks, lists, removes and prunes', async () => {
    const c = await client();
    expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: false });
    const pulled = await c.call<PullReply>(`${S}.Pull`, { image: ref, policy: 'missing' });
    expect(pulled).toMatchObject({ fetched: true, progress: 1 });
    expect(pulled.job).toBeGreaterThan(0);
    expect(pulled.bytesTotal).toBeGreaterThan(256 * 1024);
    expect(pulled.bytesDone).toBe(pulled.bytesTotal);
    // Layers reach Varlink as they reach D-Bus (one job projection in the core).
    expect(pulled.layersTotal).toBeGreaterThan(0);
    expect(pulled.layersDone).toBe(pulled.layersTotal);
    expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: true });
    expect((await c.call<PullReply>(`${S}.Pull`, { image: ref, policy: 'missing' })).fetched).toBe(false);

    const { images } = await c.call<{ images: VarlinkParams[] }>(`${S}.List`);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ id: refId, names: [ref] });
    expect(images[0]?.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(images[0]?.size).toBeGreaterThan(256 * 1024);
    expect(images[0]?.created).toBeGreaterThan(1_700_000_000);
    expect(await listJobs(c)).toEqual([]);

    const other = `${s.registry.host}/vl/other:v1`;
    const otherId = await s.builder.buildAndPush(other);
    expect((await c.call<PullReply>(`${S}.Pull`, { image: other, policy: 'always' })).fetched).toBe(true);
    expect(await c.call(`${S}.Prune`, { roots: [ref, other] })).toEqual({ removedIds: [] });
    expect(await c.call(`${S}.Remove`, { images: [other] })).toEqual({ removedIds: [otherId] });
    await c.call(`${S}.Pull`, { image: other, policy: 'always' });
    expect(await c.call(`${S}.Prune`, { roots: [ref] })).toEqual({ removedIds: [otherId] });
    expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: true });
  });

  it('collects garbage from the deployments (dry run first)', async () => {
    const c = await client();
    expect(await errorName(c.call(`${S}.GarbageCollect`, { dryRun: true }))).toBe(`${S}.NoRoots`);
    deploy(s.sandbox.sysroot, { origin: `ostree-unverified-registry:${ref}` });
    const junk = `${s.registry.host}/vl/junk:v1`;
    const junkId = await s.builder.buildAndPush(junk);
    await c.call(`${S}.Pull`, { image: junk, policy: 'always' });
    expect(await c.call(`${S}.GarbageCollect`, { dryRun: true })).toEqual({ removedIds: [junkId] });
    expect(await c.call(`${S}.Exists`, { image: junk })).toEqual({ present: true });
    expect(await c.call(`${S}.GarbageCollect`, { dryRun: false })).toEqual({ removedIds: [junkId] });
    expect(await c.call(`${S}.Exists`, { image: junk })).toEqual({ present: false });
    expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: true });
  });

  it('copies an image from the host store through PullFromHost', async () => {
    const c = await client();
    const hostRef = `${s.registry.host}/vl/fromhost:v1`;
    await s.builder.buildAndPush(hostRef);
    await run('podman', ['pull', '-q', '--tls-verify=false', hostRef]);
    try {
      expect(await c.call(`${S}.PullFromHost`, { image: hostRef })).toEqual({});
      expect(await c.call(`${S}.Exists`, { image: hostRef })).toEqual({ present: true });
      expect(
        await errorName(c.call(`${S}.PullFromHost`, { image: `${s.registry.host}/vl/nothere:v1` })),
      ).toBe(`${S}.NotFound`);
    } finally {
      await run('podman', ['rmi', '-f', hostRef]).catch(() => undefined);
    }
  });

  it('maps the core errors onto org.bootc.Storage.<Name>', async () => {
    const c = await client();
    const cases: [string, VarlinkParams, string][] = [
      ['Exists', { image: '--help' }, 'InvalidReference'],
      ['Pull', { image: 'alpine', policy: 'always' }, 'InvalidReference'],
      ['Pull', { image: 'oci:/tmp/x', policy: 'always' }, 'InvalidReference'],
      ['Pull', { image: 'quay.io/x/y', policy: 'sometimes' }, 'InvalidArgument'],
      ['Pull', { image: `${s.registry.host}/vl/absent:v1`, policy: 'always' }, 'PullFailed'],
      ['Remove', { images: [] }, 'InvalidArgument'],
      ['Remove', { images: [`${s.registry.host}/vl/absent:v1`] }, 'NotFound'],
      ['Prune', { roots: [] }, 'NoRoots'],
      ['CancelJob', { id: 999 }, 'NotFound'],
    ];
    for (const [m, p, name] of cases) {
      const e = await errorOf(c.call(`${S}.${m}`, p));
      expect(e.error, `${m} ${JSON.stringify(p)}`).toBe(`${S}.${name}`);
      expect(typeof e.parameters.message).toBe('string');
    }
  });
});

describe('jobs over Varlink', () => {
  let slow: string[];
  beforeAll(async () => {
    const names = ['vl/slow1:v1', 'vl/slow2:v1', 'vl/slow3:v1', 'vl/slow4:v1'];
    for (const n of names) await s.builder.buildAndPush(`${s.registry.host}/${n}`, { bytes: TWO_MB });
    slow = names.map((n) => `${s.proxy.host}/${n}`);
  });

  it('Pull with "more" streams progress, then the result', async () => {
    const c = await client();
    s.proxy.setRate(512 * 1024); // ~4 s for 2 MB
    const replies: VarlinkReply<PullReply>[] = [];
    try {
      for await (const r of c.stream<PullReply>(`${S}.Pull`, { image: slow[0]!, policy: 'always' }))
        replies.push(r);
    } finally {
      s.proxy.setRate(FAST);
    }
    const last = replies.at(-1)!;
    const progress = replies.slice(0, -1);
    expect(last.continues).toBe(false);
    expect(last.parameters).toMatchObject({ fetched: true, progress: 1 });
    expect(last.parameters.bytesTotal).toBeGreaterThan(TWO_MB);
    expect(last.parameters.bytesDone).toBe(last.parameters.bytesTotal);
    expect(last.parameters.layersDone).toBe(last.parameters.layersTotal);
    expect(progress.every((r) => typeof r.parameters.layersDone === 'number')).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.every((r) => r.continues && r.parameters.fetched === undefined)).toBe(true);
    expect(new Set(replies.map((r) => r.parameters.job))).toEqual(new Set([last.parameters.job]));
    const done = progress.map((r) => r.parameters.bytesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    const partial = progress.filter((r) => r.parameters.progress > 0 && r.parameters.progress < 1);
    expect(partial.length).toBeGreaterThanOrEqual(1);
    expect(partial.some((r) => r.parameters.bytesDone > 0 && r.parameters.bytesDone < TWO_MB)).toBe(true);
  });

  it('a client disconnecting mid-pull does not cancel the job: it runs to the end', async () => {
    const a = await client();
    const b = await client();
    s.proxy.setRate(256 * 1024);
    let first: PullReply | undefined;
    for await (const r of a.stream<PullReply>(`${S}.Pull`, { image: slow[1]!, policy: 'always' })) {
      first = r.parameters;
      break;
    }
    a.close(); // gone mid-pull
    const job = first!.job;
    await new Promise((r) => setTimeout(r, 1000));
    const running = (await listJobs(b)).find((j) => j.id === job);
    expect(running).toMatchObject({ kind: 'pull', state: 'running', owner: 0 });
    expect(running?.target).toBe(slow[1]);
    // Every job field reaches Varlink (the one list both transports publish), layers and attempt included.
    expect(Object.keys(running ?? {}).sort()).toEqual(
      JOB_FIELDS.filter((f) => !f.optional)
        .map((f) => f.name)
        .sort(),
    );
    expect(Object.keys(running ?? {})).toEqual(
      expect.arrayContaining(['layersDone', 'attempt', 'itemsTotal']),
    );
    s.proxy.setRate(FAST);
    await waitFor(async () => (await listJobs(b)).every((j) => j.id !== job), 'the job to end', 60_000);
    expect(await b.call(`${S}.Exists`, { image: slow[1]! })).toEqual({ present: true });
    expect(s.daemon.output()).toContain('varlink caller disconnected; the job runs on');
    expect(s.daemon.output()).not.toMatch(new RegExp(`"job":${job},[^\\n]*"result":"canceled"`));
  });

  it('CancelJob from another connection cancels it; the waiting Pull fails with Canceled', async () => {
    const a = await client();
    const b = await client();
    s.proxy.setRate(0);
    try {
      const stream = a.stream<PullReply>(`${S}.Pull`, { image: slow[2]!, policy: 'always' });
      const first = await stream.next();
      const job = (first.value as VarlinkReply<PullReply>).parameters.job;
      await waitFor(
        async () => (await listJobs(b)).find((j) => j.id === job && j.state === 'running'),
        'running',
      );
      expect(await b.call(`${S}.CancelJob`, { id: job })).toEqual({});
      const rest = (async () => {
        for await (const _ of stream) {
          // progress replies until the error
        }
      })();
      expect(await errorName(rest)).toBe(`${S}.Canceled`);
      expect(await listJobs(b)).toEqual([]);
    } finally {
      s.proxy.setRate(FAST);
    }
  });

  it('a oneway Pull starts the job and answers nothing; the next call on the connection is answered', async () => {
    const c = await client();
    s.proxy.setRate(512 * 1024);
    await c.oneway(`${S}.Pull`, { image: slow[3]!, policy: 'always' });
    const jobs = (await waitFor(async () => {
      const j = await listJobs(c);
      return j.length > 0 && j;
    }, 'the oneway job')) as JobInfo[];
    expect(jobs[0]).toMatchObject({ kind: 'pull', target: slow[3], owner: 0 });
    s.proxy.setRate(FAST);
    await waitFor(
      async () => (await c.call<{ present: boolean }>(`${S}.Exists`, { image: slow[3]! })).present,
      'the oneway pull to land',
    );
  });
});

describe('bad input and limits on the daemon socket', () => {
  it('answers unknown interfaces and methods, and wrong parameter types, with the standard errors', async () => {
    const c = await client();
    const cases: [string, VarlinkParams, string, VarlinkParams][] = [
      ['org.bootc.Nope.Exists', {}, 'InterfaceNotFound', { interface: 'org.bootc.Nope' }],
      [`${S}.Explode`, {}, 'MethodNotFound', { method: `${S}.Explode` }],
      [`${S}.Exists`, { image: 5 }, 'InvalidParameter', { parameter: 'image' }],
      [`${S}.Exists`, {}, 'InvalidParameter', { parameter: 'image' }],
      [`${S}.Exists`, { image: ref, force: true }, 'InvalidParameter', { parameter: 'force' }],
      [`${S}.Pull`, { image: ref }, 'InvalidParameter', { parameter: 'policy' }],
      [`${S}.Remove`, { images: ref }, 'InvalidParameter', { parameter: 'images' }],
      [`${S}.Prune`, { roots: [ref, 7] }, 'InvalidParameter', { parameter: 'roots' }],
      [`${S}.CancelJob`, { id: '1' }, 'InvalidParameter', { parameter: 'id' }],
      [`${S}.CancelJob`, { id: 1.5 }, 'InvalidParameter', { parameter: 'id' }],
      [`${S}.GarbageCollect`, { dryRun: 'yes' }, 'InvalidParameter', { parameter: 'dryRun' }],
    ];
    for (const [method, params, error, parameters] of cases) {
      expect(await errorOf(c.call(method, params)), `${method} ${JSON.stringify(params)}`).toEqual({
        error: `org.varlink.service.${error}`,
        parameters,
      });
    }
    expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: true });
  });

  it('answers malformed JSON with InvalidParameter and closes the connection', async () => {
    const c = await client();
    const closed = new Promise((r) => c.socket.once('close', r));
    c.writeRaw('{"method": "org.bootc.Storage.Exists", "parameters": {"image": \0');
    const e = await errorOf(c.call(`${S}.ListJobs`));
    // The malformed message's error reply arrives first and is taken as the answer to the pending call.
    expect(e).toEqual({
      error: 'org.varlink.service.InvalidParameter',
      parameters: { parameter: 'message' },
    });
    await closed;
  });

  it('closes a connection sending more than 1 MiB without a NUL', async () => {
    const raw = connect(SOCKET);
    raw.on('error', () => undefined);
    let got = '';
    raw.on('data', (d: Buffer) => {
      got += d.toString();
    });
    const closed = new Promise((r) => raw.once('close', r));
    await new Promise<void>((r) => raw.once('connect', () => r()));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (let i = 0; i < 20 && !raw.destroyed; i++) raw.write(chunk);
    await closed;
    expect(got).toBe(
      `${JSON.stringify({ error: 'org.varlink.service.InvalidParameter', parameters: { parameter: 'message' } })}\0`,
    );
    // The log line is written by another process: it may land a moment after the socket closed.
    await waitFor(() => s.daemon.output().includes('message longer than the limit'), 'the oversize log line');
    const c = await client();
    expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: true });
  });

  it('refuses the 65th connection with Busy, and serves again once one closes', async () => {
    for (const c of clients.splice(0)) c.close();
    // 64 connections that all get answers (earlier ones may take a moment to be gone on the daemon's side).
    const held = (await waitFor(async () => {
      const cs = await Promise.all(Array.from({ length: 64 }, () => VarlinkClient.connect(SOCKET)));
      const ok = await Promise.all(
        cs.map((c) =>
          c.call('org.varlink.service.GetInfo').then(
            () => true,
            () => false,
          ),
        ),
      );
      if (ok.every(Boolean)) return cs;
      for (const c of cs) c.close();
      return undefined;
    }, '64 answered connections'))!;
    try {
      const extra = await VarlinkClient.connect(SOCKET);
      const e = await errorOf(extra.call(`${S}.ListJobs`));
      expect(e.error).toBe(`${S}.Busy`);
      expect(String(e.parameters.message)).toMatch(/too many/);
      extra.close();
      held.pop()!.close();
      await waitFor(async () => {
        const c = await VarlinkClient.connect(SOCKET);
        try {
          return (await listJobs(c)) !== undefined;
        } catch {
          return false;
        } finally {
          c.close();
        }
      }, 'a free slot');
    } finally {
      for (const c of held) c.close();
    }
  });

  it('a stalled client does not block another client', async () => {
    const half = connect(SOCKET);
    half.on('error', () => undefined);
    await new Promise<void>((r) => half.once('connect', () => r()));
    half.write('{"method":"org.bootc.Storage.List","param');
    const deaf = connect(SOCKET);
    deaf.on('error', () => undefined);
    await new Promise<void>((r) => deaf.once('connect', () => r()));
    deaf.pause(); // never reads its replies
    const call = `${JSON.stringify({ method: `${S}.List` })}\0`;
    for (let i = 0; i < 5000; i++) deaf.write(call);
    const c = await client();
    const t0 = Date.now();
    for (let i = 0; i < 50; i++)
      expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: true });
    expect(Date.now() - t0).toBeLessThan(10_000);
    half.destroy();
    deaf.destroy();
  });
});

describe('daemon lifecycle', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('does not idle-exit while a Varlink connection is open, and does once it closes', async () => {
    await s.restartDaemon(['--varlink-socket', SOCKET, '--idle-timeout', '1']);
    const c = await VarlinkClient.connect(SOCKET);
    await c.call('org.varlink.service.GetInfo');
    await sleep(3000);
    expect(s.daemon.proc.exitCode).toBeNull();
    c.close();
    const code = await Promise.race([s.daemon.exited, sleep(15_000).then(() => 'still running')]);
    expect(code).toBe(0);
    expect(s.daemon.output()).toContain('"why":"idle"');
    expect(existsSync(SOCKET)).toBe(false);
  });

  it('on SIGTERM mid-pull answers the waiting Varlink caller with Canceled and removes its socket', async () => {
    const term = `${s.registry.host}/vl/term:v1`;
    await s.builder.buildAndPush(term, { bytes: TWO_MB });
    await s.restartDaemon(['--varlink-socket', SOCKET]);
    s.proxy.setRate(0);
    try {
      const c = await client();
      const watcher = await client();
      const pull = errorOf(c.call(`${S}.Pull`, { image: `${s.proxy.host}/vl/term:v1`, policy: 'always' }));
      await waitFor(async () => (await listJobs(watcher)).some((j) => j.state === 'running'), 'running');
      expect(await s.daemon.stop('SIGTERM')).toBe(0);
      expect((await pull).error).toBe(`${S}.Canceled`);
      expect(existsSync(SOCKET)).toBe(false);
    } finally {
      s.proxy.setRate(FAST);
      await s.restartDaemon(['--varlink-socket', SOCKET]);
    }
  });
});

describe('socket activation', () => {
  let activated: ChildProcess | undefined;
  afterAll(() => {
    if (activated && activated.exitCode === null) activated.kill('SIGKILL');
  });

  it('systemd-socket-activate starts the daemon on the first connection, which it then answers', async () => {
    await s.daemon.stop();
    const path = join(dir.path, 'activated.sock');
    let out = '';
    activated = spawn(
      'systemd-socket-activate',
      [
        '-l',
        path,
        '--fdname=varlink',
        '-E',
        `DBUS_SYSTEM_BUS_ADDRESS=${s.bus.address}`,
        '-E',
        `CONTAINERS_REGISTRIES_CONF=${s.sandbox.registriesConf}`,
        '-E',
        'BOOTC_STORAGED_LOG_LEVEL=debug',
        process.execPath,
        DAEMON_BUNDLE,
        '--sysroot',
        s.sandbox.sysroot,
        '--run',
        s.sandbox.run,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    activated.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    activated.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('Listening on'), 'systemd-socket-activate to listen');
    await new Promise((r) => setTimeout(r, 500));
    expect(out).not.toContain('"msg":"serving"'); // nothing started before a client came
    const c = await client(path);
    const info = await c.call<{ interfaces: string[] }>('org.varlink.service.GetInfo');
    expect(info.interfaces).toContain(S);
    expect(await c.call(`${S}.Exists`, { image: ref })).toEqual({ present: true });
    expect(out).toMatch(/"activated":true,"fd":3[^\n]*"msg":"varlink listening"/);
    c.close();
    activated.kill('SIGTERM');
    const code = await new Promise((r) => activated!.once('exit', (c2, sig) => r(c2 ?? sig)));
    expect(code).toBe(0);
    await s.restartDaemon(['--varlink-socket', SOCKET]);
  });
});
