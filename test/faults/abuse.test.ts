// Abuse at the boundary: 10,000 fuzzed D-Bus calls (only named errors, the daemon stays up, podman never
// sees an invalid reference), a flood of 1,000 distinct pulls (Busy past the cap, memory bounded, every
// accepted job completes), and 100 operations that leave the host's mount table unchanged.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseImageTarget, parseReference } from '../../src/storage/reference.js';
import { callStorage, connectClient, errorName } from '../helpers/daemon.js';
import { readHostMounts } from '../helpers/mounts.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const stacks: Stack[] = [];
afterAll(async () => {
  for (const st of stacks) await st.stop();
});

const ALLOWED = new Set([
  ...[
    'InvalidReference',
    'InvalidArgument',
    'NotFound',
    'PullFailed',
    'StorageFailure',
    'NoRoots',
    'Busy',
    'Canceled',
  ].map((n) => `org.bootc.Storage.Error.${n}`),
  'org.freedesktop.DBus.Error.InvalidArgs',
  'org.freedesktop.DBus.Error.UnknownMethod',
]);

const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

describe('fuzzing the D-Bus boundary', () => {
  it('answers 10,000 generated calls with named errors only, and podman never sees an invalid reference', async () => {
    const log = join(resolve(__dirname), '.fuzz-podman.log');
    const s = await startStack({
      daemonEnv: { PATH: `${resolve(__dirname, 'fake-bin')}:${process.env.PATH}`, FAKE_PODMAN_LOG: log },
    });
    stacks.push(s);
    const host = s.registry.host;
    const fragments = [
      'docker-archive:',
      'oci:',
      'dir:',
      '--',
      '-',
      ' ',
      '\n',
      '\t',
      '@sha256:',
      ':',
      '/',
      'quay.io',
      host,
      'a',
      'A',
      '..',
      '%',
      '\u2028',
      'é',
      '$(x)',
      ';',
    ];
    const refLike = fc.array(fc.constantFrom(...fragments), { maxLength: 8 }).map((a) => a.join(''));
    const anyString = fc
      .oneof(
        fc.string({ maxLength: 64 }),
        fc.string({ unit: 'binary', maxLength: 64 }),
        refLike,
        fc.string({ maxLength: 3000 }),
        fc.constantFrom(`${host}/fuzz/img:v1`, `quay.io/x/y@sha256:${'a'.repeat(64)}`, 'a'.repeat(64), ''),
      )
      .map((x) => x.split('\u0000').join('')); // D-Bus strings cannot hold NUL
    const call = fc.oneof(
      fc.tuple(fc.constant('Exists'), fc.constant('s'), fc.tuple(anyString)),
      fc.tuple(
        fc.constant('Pull'),
        fc.constant('ss'),
        fc.tuple(anyString, fc.oneof(fc.constantFrom('missing', 'always', 'newer'), anyString)),
      ),
      fc.tuple(fc.constant('PullFromHost'), fc.constant('s'), fc.tuple(anyString)),
      fc.tuple(fc.constant('Remove'), fc.constant('as'), fc.tuple(fc.array(anyString, { maxLength: 5 }))),
      fc.tuple(fc.constant('Prune'), fc.constant('as'), fc.tuple(fc.array(anyString, { maxLength: 5 }))),
      fc.tuple(fc.constant('GarbageCollect'), fc.constant('b'), fc.tuple(fc.boolean())),
      fc.tuple(fc.constant('CancelJob'), fc.constant('u'), fc.tuple(fc.nat())),
      fc.tuple(fc.constantFrom('List', 'ListJobs'), fc.constant(''), fc.constant([] as unknown[])),
      // Wrong signatures and unknown members.
      fc.tuple(
        fc.constantFrom('Exists', 'Pull', 'Remove', 'CancelJob', 'Nope', 'exists'),
        fc.constant('u'),
        fc.tuple(fc.nat()),
      ),
      fc.tuple(fc.constantFrom('Pull', 'Prune', 'GarbageCollect'), fc.constant('s'), fc.tuple(anyString)),
    );
    const samples = fc.sample(call, { numRuns: 10_000, seed: 4242 });
    const seen = new Map<string, number>();
    let i = 0;
    const worker = async () => {
      while (i < samples.length) {
        const [member, sig, body] = samples[i++]!;
        const name = await errorName(callStorage(s.client, member, sig, body as unknown[]));
        const key = name === 'no error' ? 'ok' : name;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        if (key !== 'ok' && !ALLOWED.has(key))
          throw new Error(`${member}(${JSON.stringify(body).slice(0, 200)}) → ${name}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    console.log('fuzz outcomes:', Object.fromEntries(seen));
    expect(seen.get('org.bootc.Storage.Error.InvalidReference')).toBeGreaterThan(1000);
    // Still up and serving.
    expect(await callStorage(s.client, 'ListJobs')).toEqual([[]]);
    expect(s.daemon.proc.exitCode).toBe(null);
    // Every reference podman was ever given is one our parser accepts (or a full image ID for rm).
    const calls = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\x1f').slice(0, -1));
    let checked = 0;
    for (const argv of calls) {
      const dd = argv.indexOf('--');
      if (dd === -1) continue;
      for (const arg of argv.slice(dd + 1)) {
        if (arg.startsWith('containers-storage:[overlay@/run/bootc/storage+/proc/self/fd/3]')) continue;
        if (argv.includes('rm')) expect(() => parseImageTarget(arg)).not.toThrow();
        else expect(parseReference(arg).canonical).toBe(arg);
        checked += 1;
      }
    }
    console.log(`podman invocations: ${calls.length}, caller strings checked: ${checked}`);
    expect(checked).toBeGreaterThan(0);
  });
});

describe('flood and mounts (real podman)', () => {
  let s: Stack;
  it('refuses 1,000 simultaneous distinct pulls past the cap with Busy, bounded memory, and completes the rest', async () => {
    s = await startStack();
    stacks.push(s);
    const pid = s.daemon.proc.pid!;
    const blocker = `${s.proxy.host}/flood/blocker:v1`;
    await s.builder.buildAndPush(`${s.registry.host}/flood/blocker:v1`);
    s.proxy.setRate(0);
    const first = errorName(callStorage(s.client, 'Pull', 'ss', [blocker, 'always']));
    await waitFor(
      async () => ((await callStorage(s.client, 'ListJobs')) as [unknown[]])[0].length === 1,
      'blocker',
    );
    const rssBefore = rssKiB(pid);
    let refused = 0;
    const answered = new Map<string, number>();
    // 50 clients of 20 calls each (one connection may have only so many calls awaiting a reply).
    const clients = Array.from({ length: 50 }, () => connectClient(s.bus.address));
    const pending = Array.from({ length: 1000 }, (_, n) =>
      errorName(
        callStorage(clients[n % 50]!, 'Pull', 'ss', [`${s.registry.host}/flood/missing${n}:v1`, 'missing']),
      ).then((r) => {
        answered.set(r, (answered.get(r) ?? 0) + 1);
        if (r === 'org.bootc.Storage.Error.Busy') {
          refused += 1;
          return r;
        }
        return `accepted:${r}`;
      }),
    );
    // Every call has been answered with Busy or is waiting in the queue; then let the blocker finish.
    await waitFor(
      async () => refused + ((await callStorage(s.client, 'ListJobs')) as [unknown[]])[0].length >= 1001,
      `all calls seen (answers so far: ${JSON.stringify(Object.fromEntries(answered))})`,
      60_000,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}; answers: ${JSON.stringify(Object.fromEntries(answered))}; jobs: ${((await callStorage(s.client, 'ListJobs')) as [unknown[]])[0].length}`,
      );
    });
    const rssPeak = rssKiB(pid);
    s.proxy.setRate(1024 * 1024 * 1024);
    const results = await Promise.all(pending);
    for (const c of clients) c.disconnect();
    const busy = results.filter((r) => r === 'org.bootc.Storage.Error.Busy').length;
    const accepted = results.filter((r) => r.startsWith('accepted:'));
    console.log(`flood: ${accepted.length} accepted, ${busy} Busy, RSS ${rssBefore} → ${rssPeak} KiB`);
    expect(busy).toBeGreaterThanOrEqual(1000 - 64);
    expect(accepted.length).toBeLessThanOrEqual(64);
    // Every accepted job ran to an end: the images do not exist, so each is a PullFailed, not a hang.
    expect(new Set(accepted)).toEqual(new Set(['accepted:org.bootc.Storage.Error.PullFailed']));
    expect(await first).toBe('no error');
    expect(rssPeak - rssBefore).toBeLessThan(100 * 1024);
    expect(await callStorage(s.client, 'ListJobs')).toEqual([[]]);
  });

  it('leaves the host mount table unchanged over 100 operations', async () => {
    const before = readHostMounts();
    const ref = `${s.registry.host}/mounts/img:v1`;
    await s.builder.buildAndPush(ref);
    const ops: (() => Promise<unknown>)[] = [
      () => callStorage(s.client, 'Exists', 's', [ref]),
      () => callStorage(s.client, 'List'),
      () => callStorage(s.client, 'Pull', 'ss', [ref, 'missing']),
      () => callStorage(s.client, 'Pull', 'ss', [ref, 'newer']),
      () => callStorage(s.client, 'Remove', 'as', [[ref]]),
    ];
    for (let n = 0; n < 100; n++) await ops[n % ops.length]!().catch(() => undefined);
    expect(readHostMounts()).toEqual(before);
  });
});
