// Issue 24 item 1: every writer's changes reach clients as "look again", against a real ostree sysroot (the
// ostree tool), real podman on the daemon's store as an outside writer, a real bus and polkitd: StoreChanged
// and DeploymentsChanged on D-Bus, Varlink's Watch stream, Subscribe keeping the daemon up (per-uid capped),
// the watches never keeping an idle daemon alive, and `bootc-storagectl watch`.

import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VarlinkCallError, VarlinkClient } from '../../src/api/varlink/client.js';
import { spawnCli } from '../helpers/cli-process.js';
import { addMatch, CLI_BUNDLE, callStorage, connectClient, errorName } from '../helpers/daemon.js';
import { createSysroot, deploy, imageQuadlet, status, undeploy } from '../helpers/ostree-sysroot.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { RawPodman } from '../helpers/store-podman.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

const S = 'org.bootc.Storage';
const dir = makeTempDir('bsd-changes-');
chmodSync(dir.path, 0o755);
const SOCKET = join(dir.path, 'org.bootc.Storage');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let s: Stack;
let raw: RawPodman;
const signals: { member: string; at: number }[] = [];

beforeAll(async () => {
  s = await startStack({
    daemonArgs: ['--varlink-socket', SOCKET],
    beforeDaemon: (sandbox) => {
      createSysroot(sandbox.sysroot);
      deploy(sandbox.sysroot, { quadlets: { 'app.image': imageQuadlet('quay.io/example/app:1') } });
    },
  });
  raw = new RawPodman(s);
  await addMatch(s.client, `type='signal',sender='${S}',interface='${S}'`);
  s.client.on('message', (m: dbus.Message) => {
    if (m.type === 4 && m.interface === S && m.member?.endsWith('Changed')) {
      signals.push({ member: m.member, at: Date.now() });
    }
  });
  // A listener arms the watch (a daemon nobody listens to watches nothing); then the first pull makes the
  // store's records.
  await callStorage(s.client, 'Subscribe');
  const ref = `${s.registry.host}/changes/base:1`;
  await s.builder.buildAndPush(ref);
  expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
});
afterAll(async () => {
  raw?.close();
  await s?.stop();
  dir.remove();
});

/** Runs `change`, then waits (≤ 1 s, the bound) for `member`; returns how long it took and what came. */
async function expectSignal(member: string, change: () => unknown): Promise<{ ms: number; got: string[] }> {
  await sleep(400); // whatever an earlier step set off has settled and been signalled
  const from = signals.length;
  const t0 = Date.now();
  await change();
  const done = Date.now();
  await waitFor(() => signals.slice(from).some((x) => x.member === member), `${member} within 1 s`, 1000, 10);
  const hit = signals.slice(from).find((x) => x.member === member)!;
  await sleep(400); // a burst is one signal: nothing more arrives for this change
  return { ms: hit.at - Math.max(t0, done), got: signals.slice(from).map((x) => x.member) };
}

describe('D-Bus signals, whoever writes', () => {
  it("the daemon's own pull, then raw podman tag and rmi on the store: one StoreChanged each, within 1 s", async () => {
    const ref = `${s.registry.host}/changes/own:1`;
    await s.builder.buildAndPush(ref);
    const own = await expectSignal('StoreChanged', () =>
      callStorage(s.client, 'Pull', 'ss', [ref, 'missing']),
    );
    expect(own.got).toEqual(['StoreChanged']);
    const tag = await expectSignal('StoreChanged', () => raw.ok(['tag', ref, 'localhost/changes/other:x']));
    expect(tag.got).toEqual(['StoreChanged']);
    expect(tag.ms).toBeLessThan(1000);
    const rmi = await expectSignal('StoreChanged', () => raw.ok(['rmi', 'localhost/changes/other:x', ref]));
    expect(rmi.got).toEqual(['StoreChanged']);
    // The daemon's answer right after the signal already has the change.
    const [images] = (await callStorage(s.client, 'List')) as [[string, string[]][]];
    expect(images.flatMap(([, names]) => names)).toEqual([`${s.registry.host}/changes/base:1`]);
  });

  it('ostree admin deploy and undeploy: DeploymentsChanged within 1 s, and no StoreChanged', async () => {
    const sysroot = s.sandbox.sysroot;
    const before = status(sysroot).length;
    const d = await expectSignal('DeploymentsChanged', () =>
      deploy(sysroot, { quadlets: { 'db.image': imageQuadlet('quay.io/example/db:2') }, retain: true }),
    );
    expect(d.got).toEqual(['DeploymentsChanged']);
    expect(d.ms).toBeLessThan(1000);
    const [rows] = (await callStorage(s.client, 'ListDeployments')) as [unknown[]];
    expect(rows).toHaveLength(before + 1);
    const u = await expectSignal('DeploymentsChanged', () => undeploy(sysroot, 0));
    expect(u.got).toEqual(['DeploymentsChanged']);
    expect(u.ms).toBeLessThan(1000);
    expect(((await callStorage(s.client, 'ListDeployments')) as [unknown[]])[0]).toHaveLength(before);
  });

  it('a write that changes nothing visible (a tag that already exists) signals nothing', async () => {
    const ref = `${s.registry.host}/changes/base:1`;
    await sleep(400);
    const from = signals.length;
    await raw.ok(['tag', ref, ref]);
    await sleep(800);
    expect(signals.slice(from)).toEqual([]);
    // And the watch still works: a real change right after is signalled (a dead watch would pass the above).
    const control = await expectSignal('StoreChanged', () =>
      raw.ok(['tag', ref, 'localhost/changes/control:1']),
    );
    expect(control.got).toEqual(['StoreChanged']);
  });
});

describe('Varlink Watch', () => {
  it('streams Watching, then one event per change; without "more" it is refused', async () => {
    const c = await VarlinkClient.connect(SOCKET);
    try {
      const stream = c.stream(`${S}.Watch`);
      const first = await stream.next();
      expect(first.value).toMatchObject({ parameters: { event: 'Watching' }, continues: true });
      await raw.ok(['tag', `${s.registry.host}/changes/base:1`, 'localhost/changes/watched:1']);
      const second = await stream.next();
      expect(second.value).toMatchObject({ parameters: { event: 'StoreChanged' }, continues: true });
      await raw.ok(['rmi', 'localhost/changes/watched:1']);
      expect((await stream.next()).value).toMatchObject({ parameters: { event: 'StoreChanged' } });
    } finally {
      c.close();
    }
    // A connection answers one call at a time (the stream above never ends): a new one for this.
    const d = await VarlinkClient.connect(SOCKET);
    try {
      const err = await d.call(`${S}.Watch`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VarlinkCallError);
      expect((err as VarlinkCallError).error).toBe('org.varlink.service.ExpectedMore');
    } finally {
      d.close();
    }
  });
});

describe('staying up for listeners, and only for them', () => {
  it('Subscribe keeps an idle daemon running until its caller leaves; the watches alone never do', async () => {
    await s.restartDaemon(['--varlink-socket', SOCKET, '--idle-timeout', '1']);
    const listener = connectClient(s.bus.address);
    try {
      await callStorage(listener, 'Subscribe');
      // Outside writes meanwhile: signalled, and still no reason to exit or to stay.
      for (let i = 0; i < 3; i++) {
        await raw.ok(['tag', `${s.registry.host}/changes/base:1`, `localhost/changes/keep:${i}`]);
        await sleep(800);
      }
      expect(s.daemon.proc.exitCode).toBeNull();
    } finally {
      listener.disconnect(); // leaving the bus ends the subscription
    }
    const code = await Promise.race([s.daemon.exited, sleep(15_000).then(() => 'still running')]);
    expect(code).toBe(0);
    expect(s.daemon.output()).toContain('"why":"idle"');

    // A listener armed the watch and left: the daemon idles out although the store keeps changing under it.
    await s.restartDaemon(['--varlink-socket', SOCKET, '--idle-timeout', '2']);
    await callStorage(s.client, 'Subscribe');
    await callStorage(s.client, 'Unsubscribe');
    let writes = 0;
    const writer = (async () => {
      while (s.daemon.proc.exitCode === null && writes < 20) {
        await raw.run(['tag', `${s.registry.host}/changes/base:1`, `localhost/changes/busy:${writes++}`]);
        await sleep(300);
      }
    })();
    const idle = await Promise.race([s.daemon.exited, sleep(15_000).then(() => 'still running')]);
    await writer;
    expect(idle).toBe(0);
    expect(writes).toBeGreaterThan(3);
    await s.restartDaemon(['--varlink-socket', SOCKET]);
  });

  it('one uid holds at most 16 subscriptions; Unsubscribe frees one', async () => {
    const conns = Array.from({ length: 17 }, () => connectClient(s.bus.address));
    try {
      for (const c of conns.slice(0, 16)) await callStorage(c, 'Subscribe');
      await callStorage(conns[0]!, 'Subscribe'); // again: a no-op, not a second one
      expect(await errorName(callStorage(conns[16]!, 'Subscribe'))).toBe(`${S}.Error.Busy`);
      await callStorage(conns[3]!, 'Unsubscribe');
      await callStorage(conns[16]!, 'Subscribe');
    } finally {
      for (const c of conns) c.disconnect();
    }
  });
});

describe('bootc-storagectl watch', () => {
  it('prints a line per change, says when the daemon restarts, and exits 0 on SIGINT', async () => {
    const run = spawnCli(CLI_BUNDLE, ['watch', '--json'], { busAddress: s.bus.address });
    const child = run.proc;
    const events = () =>
      run
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { event: string }).event);
    try {
      await waitFor(() => events().includes('Watching'), 'Watching', 10_000);
      await raw.ok(['tag', `${s.registry.host}/changes/base:1`, 'localhost/changes/cli:1']);
      await waitFor(() => events().includes('StoreChanged'), 'StoreChanged', 2000);
      deploy(s.sandbox.sysroot, {
        quadlets: { 'x.image': imageQuadlet('quay.io/example/x:1') },
        retain: true,
      });
      await waitFor(() => events().includes('DeploymentsChanged'), 'DeploymentsChanged', 2000);
      await s.restartDaemon(['--varlink-socket', SOCKET]);
      await waitFor(() => events().includes('DaemonStopped'), 'DaemonStopped', 5000);
      // The CLI's own Subscribe re-activates nothing here (the harness started the daemon); it subscribes again.
      await waitFor(() => events().includes('DaemonStarted'), 'DaemonStarted', 10_000);
      const code = new Promise((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGINT');
      expect(await code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    expect(events()).toEqual([
      'Watching',
      'StoreChanged',
      'DeploymentsChanged',
      'DaemonStopped',
      'DaemonStarted',
    ]);
  });
});
