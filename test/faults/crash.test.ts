// Nothing is lost: kill -9 mid-pull (10 times), a registry that dies or goes silent mid-pull, a corrupted
// auth.json. After each fault the store lists cleanly, completed images are intact, no podman keeps running,
// no mount leaked into the host, and the next request works.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callStorage, errorName } from '../helpers/daemon.js';
import { readHostMounts } from '../helpers/mounts.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const FAST = 1024 * 1024 * 1024;
let s: Stack;
let mountsBefore: string[];
let keep: string;
let keepId: string;

beforeAll(async () => {
  mountsBefore = readHostMounts();
  s = await startStack({ daemonArgs: ['--stall-timeout', '3'] });
  keep = `${s.registry.host}/crash/keep:v1`;
  keepId = await s.builder.buildAndPush(keep);
  await callStorage(s.client, 'Pull', 'ss', [keep, 'missing']);
});
afterAll(() => s?.stop());

type Jobs = [number, string, string, string, string][];
const listJobs = async () => ((await callStorage(s.client, 'ListJobs')) as [Jobs])[0];
const images = async () => ((await callStorage(s.client, 'List')) as [[string, string[]][]])[0];
const podmansFor = async (pattern: string) =>
  (await run('pgrep', ['-f', pattern]).catch(() => ({ stdout: '' }))).stdout.trim();

describe('kill -9 of the daemon mid-pull', () => {
  it('survives 10 kills: store consistent, no podman, no mount leaked, next pull works', async () => {
    const big = `${s.proxy.host}/crash/big:v1`;
    const bigId = await s.builder.buildAndPush(`${s.registry.host}/crash/big:v1`, { bytes: 6 * 1024 * 1024 });
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      s.proxy.setRate(512 * 1024);
      const pull = errorName(callStorage(s.client, 'Pull', 'ss', [big, 'always']));
      await waitFor(async () => (await listJobs()).some((j) => j[3] === 'running'), 'a running pull');
      await new Promise((r) => setTimeout(r, 300 + i * 150)); // kill at different points of the transfer
      await s.daemon.stop('SIGKILL');
      expect(await pull).toMatch(/NoReply|Disconnected|ServiceUnknown|org\.freedesktop\.DBus\.Error/);
      // The parent-death signal takes podman down with the daemon.
      await waitFor(
        async () => (await podmansFor('crash/big')) === '',
        'podman to die with the daemon',
        10_000,
      );
      expect(readHostMounts()).toEqual(mountsBefore);
      s.proxy.setRate(FAST);
      await s.restartDaemon(['--stall-timeout', '3']);
      const list = await images();
      expect(list.find(([id]) => id === keepId)?.[1]).toEqual([keep]);
      const partial = list.find(([id]) => id === bigId);
      // The interrupted image is absent, or complete with its name.
      if (partial) expect(partial[1]).toEqual([big]);
      outcomes.push(partial ? 'complete' : 'absent');
      expect(await callStorage(s.client, 'Exists', 's', [keep])).toEqual([true]);
    }
    expect(await callStorage(s.client, 'Pull', 'ss', [big, 'always'])).toEqual([true]);
    expect((await images()).find(([id]) => id === bigId)?.[1]).toEqual([big]);
    console.log(`kill -9 outcomes for the interrupted image: ${outcomes.join(', ')}`);
  });
});

describe('registry faults', () => {
  it('fails a pull with PullFailed when the registry dies mid-pull, and the queue moves on', async () => {
    const ref = `${s.proxy.host}/crash/dies:v1`;
    // Bigger than loopback's socket buffers (a few MB): what the dead registry had already sent cannot finish
    // the pull, whatever order the blobs are fetched in (skopeo fetches the config first, podman 4.3 last).
    await s.builder.buildAndPush(`${s.registry.host}/crash/dies:v1`, { bytes: 24 * 1024 * 1024 });
    s.proxy.setRate(2 * 1024 * 1024);
    const pull = callStorage(s.client, 'Pull', 'ss', [ref, 'always']).then(
      () => 'no error',
      (e: { type: string; text: string }) => `${e.type}: ${e.text}`,
    );
    const next = errorName(callStorage(s.client, 'Pull', 'ss', [keep, 'missing']));
    await waitFor(
      async () => (await listJobs()).some((j) => j[2].includes('dies') && j[3] === 'running'),
      'the pull',
    );
    await new Promise((r) => setTimeout(r, 500));
    await s.registry.stop();
    try {
      expect(await pull).toMatch(/^org\.bootc\.Storage\.Error\.PullFailed: /);
      expect(await next).toBe('no error'); // the queued job ran after the failure
      expect(await podmansFor('crash/dies')).toBe('');
    } finally {
      await s.registry.start();
      s.proxy.setRate(FAST);
    }
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
  });

  it('fails a pull from a registry that never answers within the stall limit', async () => {
    const ref = `${s.proxy.host}/crash/silent:v1`;
    await s.builder.buildAndPush(`${s.registry.host}/crash/silent:v1`);
    s.proxy.setRate(0); // connections are accepted, nothing ever comes back
    const started = Date.now();
    const err = await callStorage(s.client, 'Pull', 'ss', [ref, 'always']).then(
      () => undefined,
      (e: { type: string; text: string }) => e,
    );
    const elapsed = Date.now() - started;
    s.proxy.setRate(FAST);
    expect(err?.type).toBe('org.bootc.Storage.Error.PullFailed');
    expect(err?.text).toMatch(/no progress/);
    expect(elapsed).toBeLessThan(60_000); // bounded: the stall limit here is 3 s
    expect(await podmansFor('crash/silent')).toBe('');
    expect(await listJobs()).toEqual([]);
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'missing'])).toEqual([true]);
  });
});

describe('credentials', () => {
  it('names a corrupted auth.json and never logs its content', async () => {
    const secret = 'c2VjcmV0LXRva2VuLXRoYXQtbXVzdC1uZXZlci1sZWFr';
    const dir = join(s.sandbox.sysroot, 'etc/ostree');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'auth.json'), `{"auths": {"${s.registry.host}": {"auth": "${secret}"}`);
    try {
      const err = await callStorage(s.client, 'Pull', 'ss', [
        `${s.registry.host}/crash/keep:v1`,
        'always',
      ]).then(
        () => undefined,
        (e: { type: string; text: string }) => e,
      );
      expect(err?.type).toBe('org.bootc.Storage.Error.PullFailed');
      expect(err?.text).toContain(join(dir, 'auth.json'));
      expect(err?.text).not.toContain(secret);
      // The daemon's log arrives through a pipe from another process: it may trail the reply.
      await waitFor(
        () => s.daemon.output().includes('auth.json is not valid JSON'),
        'the auth error log line',
      );
      expect(s.daemon.output()).not.toContain(secret);
      // A good file with a secret in it: the pull works and the secret still never reaches a log line.
      writeFileSync(join(dir, 'auth.json'), `{"auths": {"${s.registry.host}": {"auth": "${secret}"}}}`);
      expect(
        await callStorage(s.client, 'Pull', 'ss', [`${s.registry.host}/crash/keep:v1`, 'always']),
      ).toEqual([true]);
      expect(s.daemon.output()).not.toContain(secret);
    } finally {
      writeFileSync(join(dir, 'auth.json'), '{}');
    }
  });
});
