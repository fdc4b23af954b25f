// bootc-storagectl (the esbuild bundle) against the real daemon on a private system bus with the real polkitd,
// real podman and a registry (directly, and through a throttling proxy for pulls that last a few seconds).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliProcess,
  type CliRun,
  copyCliBundle,
  spawnCli,
  spawnCliTty,
} from '../helpers/cli-process.js';
import { CLI_BUNDLE, callStorage } from '../helpers/daemon.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const NOBODY = 65534;
/** ~2 MB of random data: one layer podman cannot compress. */
const SLOW_IMAGE_BYTES = 2 * 1024 * 1024;
/** A 2 MB pull through the proxy at this rate takes 2–3 s. */
const SLOW_RATE = 800 * 1024;
const FAST_RATE = 1024 * 1024 * 1024;
const ESC = '\u001b';
/** A terminal frame ends at a carriage return + clear-line, or a newline. */
const FRAME_BREAK = new RegExp(`\\r${ESC}\\[2K|\\r?\\n`);
const CURSOR_TOGGLE = new RegExp(`${ESC}\\[\\?25[lh]`, 'g');

let s: Stack;
/** A small image pulled straight from the registry. */
let ref: string;
let refId: string;
/** A second small image, to remove and prune. */
let other: string;
let otherId: string;
/** ~2 MB images reached through the throttling proxy. */
let slowTty: string;
let slowPlain: string;
let slowCancel: string;

/**
 * The bundle as another user may run it: a copy in the stack's directory, which is traversable by everyone
 * (the checkout itself may sit in a 0700 directory, as a `mktemp -d` clone does).
 */
function cliFor(uid: number | undefined): string {
  return uid === undefined ? CLI_BUNDLE : copyCliBundle(s.dir);
}

function startCli(args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  return spawnCli(cliFor(opts.uid), args, { busAddress: s.bus.address, ...opts });
}

function cli(args: string[], opts: { uid?: number } = {}): Promise<CliRun> {
  return startCli(args, opts).done;
}

/** The stderr of a failed run: exactly one line in the documented format. */
function expectOneErrorLine(run: CliRun, pattern: RegExp): void {
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^bootc-storagectl: /);
  expect(lines[0]).toMatch(pattern);
}

async function listJobsOnBus(): Promise<unknown[]> {
  const [jobs] = (await callStorage(s.client, 'ListJobs')) as [unknown[]];
  return jobs;
}

beforeAll(async () => {
  s = await startStack();
  ref = `${s.registry.host}/cli/hello:v1`;
  other = `${s.registry.host}/cli/other:v1`;
  [refId, otherId] = await Promise.all([
    s.builder.buildAndPush(ref, { bytes: 300 * 1024 }),
    s.builder.buildAndPush(other, { bytes: 64 * 1024 }),
  ]);
  // Pushed straight to the registry, pulled through the proxy (the same registry, throttled).
  const names = ['cli/slow-tty:v1', 'cli/slow-plain:v1', 'cli/slow-cancel:v1'];
  await Promise.all(
    names.map((n) => s.builder.buildAndPush(`${s.registry.host}/${n}`, { bytes: SLOW_IMAGE_BYTES })),
  );
  [slowTty, slowPlain, slowCancel] = names.map((n) => `${s.proxy.host}/${n}`) as [string, string, string];
});
afterAll(() => s?.stop());

describe('help, version and usage errors', () => {
  it('prints help with the exit-status table, and help for every subcommand', async () => {
    const main = await cli(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('Usage: bootc-storagectl');
    for (const line of [
      /^ {2}0 +success/m,
      /^ {2}2 +usage error/m,
      /^ {2}3 +not authorized/m,
      /^ {2}130 +interrupted/m,
    ])
      expect(main.stdout).toMatch(line);
    for (const sub of ['pull', 'exists', 'list', 'remove', 'prune', 'jobs', 'cancel', 'gc']) {
      const help = await cli([sub, '--help']);
      expect(help.code, sub).toBe(0);
      expect(help.stdout).toContain(`Usage: bootc-storagectl ${sub}`);
      expect(help.stdout).toContain('--no-ask-password');
    }
    expect((await cli(['pull', '--help'])).stdout).toMatch(
      /--policy <policy> +when to contact the registry \(choices: "missing", "always",/,
    );
  });

  it('prints the version', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^bootc-storagectl \d+\.\d+\.\d+$/);
  });

  it('refuses bad usage with one line and status 2, before touching the bus', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['list', '--bogus'], /unknown option '--bogus'/],
      [['pull'], /missing required argument 'image'/],
      [
        ['pull', ref, '--policy', 'sometimes'],
        /'sometimes' is invalid.*missing, always, newer|Allowed choices/,
      ],
      [['cancel', 'abc'], /expected a job id/],
      [['cancel', '-1'], /unknown option '-1'|expected a job id/],
      [['prune'], /prune needs at least one --root/],
    ];
    for (const [args, pattern] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expectOneErrorLine(run, pattern);
    }
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: bootc-storagectl');
  });

  it('says in one line when the system bus cannot be reached', async () => {
    const run = await startCli(['list'], { env: { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } })
      .done;
    expect(run.code).toBe(1);
    expectOneErrorLine(run, /cannot connect to the system bus: .*ENOENT/);
  });
});

describe('images', () => {
  it('exists says absent (status 1), pull fetches, exists says present, pull again is a no-op', async () => {
    const absent = await cli(['exists', ref]);
    expect(absent.code).toBe(1);
    expect(absent.stdout).toBe(`${ref}: absent\n`);
    expect(absent.stderr).toBe('');
    const absentJson = await cli(['exists', '--json', ref]);
    expect(absentJson.code).toBe(1);
    expect(JSON.parse(absentJson.stdout)).toEqual({ image: ref, present: false });

    const pulled = await cli(['pull', ref]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toBe(`Fetched ${ref}\n`);

    const present = await cli(['exists', ref]);
    expect(present.code).toBe(0);
    expect(present.stdout).toBe(`${ref}: present\n`);
    const quiet = await cli(['exists', '-q', ref]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(JSON.parse((await cli(['exists', '--json', ref])).stdout)).toEqual({ image: ref, present: true });

    const again = await cli(['pull', ref]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${ref} is already present; nothing fetched\n`);
    const againJson = await cli(['pull', '--json', '-q', ref]);
    expect(againJson.code).toBe(0);
    expect(againJson.stderr).toBe('');
    const parsed = JSON.parse(againJson.stdout);
    expect(parsed).toMatchObject({ image: ref, policy: 'missing', fetched: false });
    expect(Object.keys(parsed).sort()).toEqual(['fetched', 'image', 'job', 'policy']);
  });

  it('pulls with --policy always and reports fetched in JSON', async () => {
    const run = await cli(['pull', '--policy', 'always', '--json', '-q', other]);
    expect(run.code, run.stderr).toBe(0);
    const parsed = JSON.parse(run.stdout);
    expect(parsed).toMatchObject({ image: other, policy: 'always', fetched: true });
    expect(parsed.job).toBeGreaterThan(0);
  });

  it('lists images as a table and as JSON', async () => {
    const table = await cli(['list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +ID +SIZE +CREATED$/);
    const row = lines.find((l) => l.startsWith(`${ref} `));
    expect(row, table.stdout).toBeDefined();
    const cells = row!.split(/ {2,}/);
    expect(cells[1]).toBe(refId.slice(0, 12));
    expect(cells[2]).toMatch(/^\d+(\.\d)? kB$/);
    expect(cells[3]).toMatch(/^(just now|\d+ (seconds|minutes?) ago)$/);
    expect(lines.some((l) => l.startsWith(`${other} `) && l.includes(otherId.slice(0, 12)))).toBe(true);

    const json = await cli(['list', '--json']);
    expect(json.code).toBe(0);
    const images = JSON.parse(json.stdout) as Record<string, unknown>[];
    const entry = images.find((i) => i.id === refId);
    expect(entry).toMatchObject({ id: refId, names: [ref] });
    expect(Object.keys(entry!).sort()).toEqual(['created', 'createdAt', 'digest', 'id', 'names', 'size']);
    expect(entry!.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(entry!.size).toBeGreaterThan(300 * 1024);
    expect(Math.abs((entry!.created as number) - Date.now() / 1000)).toBeLessThan(3600);
    expect(new Date(entry!.createdAt as string).getTime()).toBe((entry!.created as number) * 1000);
  });

  it('maps daemon errors to one line and the documented status', async () => {
    const shortName = await cli(['pull', 'alpine']);
    expect(shortName.code).toBe(4);
    expectOneErrorLine(
      shortName,
      /^bootc-storagectl: cannot pull alpine: invalid image reference "alpine": short names/,
    );

    const transport = await cli(['exists', 'docker://quay.io/x/y']);
    expect(transport.code).toBe(4);
    expectOneErrorLine(transport, /cannot check whether docker:\/\/quay.io\/x\/y exists: .*transport/);

    const missing = await cli(['remove', `${s.registry.host}/cli/nothere:v1`]);
    expect(missing.code).toBe(5);
    expectOneErrorLine(missing, /cannot remove .*nothere:v1: /);

    const unknownManifest = await cli(['pull', '-q', `${s.registry.host}/cli/never-pushed:v1`]);
    expect(unknownManifest.code).toBe(7);
    expectOneErrorLine(unknownManifest, /cannot pull .*never-pushed:v1: /);
  });

  it('removes by name and prunes everything but the roots, printing the removed IDs', async () => {
    const extra = `${s.registry.host}/cli/extra:v1`;
    const extraId = await s.builder.buildAndPush(extra);
    expect((await cli(['pull', '-q', extra])).code).toBe(0);
    const removed = await cli(['remove', '--json', extra]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ requested: [extra], removed: [extraId] });
    expect((await cli(['exists', extra])).code).toBe(1);

    expect((await cli(['pull', '-q', extra])).code).toBe(0);
    const removedText = await cli(['rm', extra]);
    expect(removedText.code).toBe(0);
    expect(removedText.stdout).toBe(`Deleted ${extraId}\n`);

    // ref and other are in the store; keeping ref removes other.
    const pruned = await cli(['prune', '--json', '--root', ref]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toEqual({ roots: [ref], removed: [otherId] });
    const again = await cli(['prune', '--root', ref, '--root', other]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('Nothing to prune.\n');
    expect((await cli(['exists', ref])).code).toBe(0);
    expect((await cli(['exists', other])).code).toBe(1);
  });
});

describe('jobs and cancel', () => {
  it('lists no jobs when idle, as a table and as JSON', async () => {
    const table = await cli(['jobs']);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe('No jobs.\n');
    const json = await cli(['jobs', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('refuses to cancel a job that does not exist (status 5)', async () => {
    const run = await cli(['cancel', '4000000']);
    expect(run.code).toBe(5);
    expectOneErrorLine(run, /^bootc-storagectl: cannot cancel job 4000000: no job 4000000/);
  });

  it('shows a running pull in jobs and jobs --watch, and cancel stops it (the puller exits 8)', async () => {
    s.proxy.setRate(200 * 1024);
    const watch = startCli(['jobs', '--watch']);
    const watchJson = startCli(['jobs', '--watch', '--json']);
    // And on a terminal, where the screen is redrawn.
    const watchTty = spawnCliTty(
      ['jobs', '--watch'],
      { DBUS_SYSTEM_BUS_ADDRESS: s.bus.address },
      { detached: true },
    );
    try {
      await waitFor(() => watch.stdout().includes('No jobs.'), 'jobs --watch to draw the empty list');
      const puller = startCli(['pull', slowCancel]);
      const job = (await waitFor(async () => {
        const run = await cli(['jobs', '--json']);
        const jobs = JSON.parse(run.stdout) as Record<string, unknown>[];
        return jobs.find((j) => j.kind === 'pull' && j.target === slowCancel && j.state === 'running');
      }, 'the pull to run'))!;
      expect(Object.keys(job).sort()).toEqual(
        ['bytesDone', 'bytesTotal', 'id', 'kind', 'owner', 'path', 'progress', 'state', 'target'].sort(),
      );
      expect(job.owner).toBe(0);
      expect(job.path).toBe(`/org/bootc/Storage/job/${job.id}`);

      const table = await cli(['jobs']);
      expect(table.stdout).toMatch(/^ID +KIND +STATE +PROGRESS +OWNER +TARGET$/m);
      expect(table.stdout).toMatch(
        new RegExp(`^${job.id} +pull +running +.+ +0 +${slowCancel.replace(/\./g, '\\.')}$`, 'm'),
      );

      await waitFor(() => watch.stdout().includes(slowCancel), 'jobs --watch to show the pull');
      expect(watch.stdout()).toMatch(new RegExp(`^${job.id} +pull +running`, 'm'));
      await waitFor(
        () =>
          watchJson
            .stdout()
            .split('\n')
            .some((l) => l.includes(`"target":"${slowCancel}"`)),
        'jobs --watch --json to show the pull',
      );
      const snapshot = watchJson
        .stdout()
        .split('\n')
        .filter((l) => l.includes(slowCancel))
        .map((l) => JSON.parse(l) as Record<string, unknown>[])[0]!;
      expect(snapshot[0]).toMatchObject({ id: job.id, kind: 'pull', target: slowCancel });

      const canceled = await cli(['cancel', String(job.id)]);
      expect(canceled.code, canceled.stderr).toBe(0);
      expect(canceled.stdout).toBe(`Requested cancellation of job ${job.id}\n`);
      const pulled = await puller.done;
      expect(pulled.code).toBe(8);
      expect(pulled.stderr.split('\n').filter((l) => l.startsWith('bootc-storagectl:'))).toEqual([
        expect.stringMatching(
          new RegExp(`^bootc-storagectl: cannot pull ${slowCancel.replace(/\./g, '\\.')}: .*cancel`, 'i'),
        ),
      ]);
      await waitFor(
        () => watch.stdout().trimEnd().endsWith('No jobs.') && watch.stdout().split('No jobs.').length > 2,
        'jobs --watch to drop the job',
      );
      const screen = watchTty.screen();
      const redraws = screen.split(`${ESC}[H${ESC}[2J`).filter((f) => f !== '');
      expect(redraws.length, screen).toBeGreaterThanOrEqual(3);
      expect(redraws[0]).toMatch(/^Jobs at .+ \(Ctrl-C to stop\)\r\n\r\nNo jobs\.\r\n$/);
      expect(redraws.some((f) => new RegExp(`^${job.id} +pull +running +\\d+% `, 'm').test(f))).toBe(true);
      expect(redraws.at(-1)).toMatch(/No jobs\.\r\n$/);
      watch.proc.kill('SIGINT');
      watchJson.proc.kill('SIGINT');
      expect((await watch.done).code).toBe(0);
      expect((await watchJson.done).code).toBe(0);
      expect(watchJson.stdout().trimEnd().split('\n').at(-1)).toBe('[]');
    } finally {
      watch.proc.kill('SIGKILL');
      watchJson.proc.kill('SIGKILL');
      process.kill(-watchTty.proc.pid!, 'SIGKILL');
      s.proxy.setRate(FAST_RATE);
    }
    expect(await listJobsOnBus()).toEqual([]);
  });
});

describe('pull progress', () => {
  it('draws a live progress bar on a terminal', async () => {
    s.proxy.setRate(SLOW_RATE);
    try {
      const started = Date.now();
      // On a pseudo-terminal: its output is the screen the user would see.
      const { screen: stdout } = await spawnCliTty(['pull', slowTty], {
        DBUS_SYSTEM_BUS_ADDRESS: s.bus.address,
      }).done;
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThan(1500);
      // Redraws are carriage returns + clear-line: split into the frames the terminal showed.
      const frames = stdout
        .split(FRAME_BREAK)
        .map((f) => f.replace(CURSOR_TOGGLE, ''))
        .filter((f) => f.trim() !== '');
      const bars = frames.filter((f) => /\[[=> ]+\] \d+%/.test(f));
      expect(bars.length, stdout).toBeGreaterThan(3);
      // A frame in the middle of the transfer: bar, percentage, bytes done/total, layers and a rate.
      const middle = bars.find((f) =>
        /\[=+>? +\] (\d|[1-8]\d)% +\d+(\.\d)? (kB|MB)\/2\.\d MB +layer 1\/1 +\d+(\.\d)? (B|kB|MB)\/s/.test(f),
      );
      expect(middle, bars.join('\n')).toBeDefined();
      // The title comes first, on its own line; every bar frame has the same width.
      expect(stdout.startsWith(`Pulling ${slowTty}\r\n`)).toBe(true);
      expect(new Set(bars.map((f) => f.indexOf(']'))).size).toBe(1);
      // The last frame is the full bar, then the result.
      expect(bars.at(-1)).toMatch(/\[=+\] 100% +2\.\d MB\/2\.\d MB +layer 1\/1/);
      expect(stdout).toContain(`Fetched ${slowTty}`);
      // The cursor is hidden while drawing and shown again at the end.
      expect(stdout).toContain('\x1b[?25l');
      expect(stdout.lastIndexOf('\x1b[?25h')).toBeGreaterThan(stdout.lastIndexOf('\x1b[?25l'));
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
  });

  it('prints plain progress lines, at most a few per second, when not on a terminal', async () => {
    s.proxy.setRate(SLOW_RATE);
    try {
      const started = Date.now();
      const run = await cli(['pull', slowPlain]);
      const seconds = (Date.now() - started) / 1000;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(`Fetched ${slowPlain}\n`);
      const lines = run.stderr.trimEnd().split('\n');
      expect(
        lines.every((l) => l.startsWith('pull: ')),
        run.stderr,
      ).toBe(true);
      expect(run.stderr).not.toContain('\x1b');
      expect(lines).toContain(lines.find((l) => /^pull: running \(job \d+\)$/.test(l)));
      const amounts = lines.filter((l) => /^pull: \d+% \d+(\.\d)? (kB|MB)\/2\.\d MB/.test(l));
      expect(amounts.length, run.stderr).toBeGreaterThanOrEqual(2);
      expect(amounts.at(-1)).toMatch(/^pull: 100% (2\.\d MB)\/\1 layer 1\/1$/);
      expect(lines.length).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 4);
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
  });

  it('cancels the job on Ctrl-C, says so and exits 130', async () => {
    s.proxy.setRate(200 * 1024);
    try {
      const puller = startCli(['pull', slowCancel]);
      await waitFor(() => /pull: \d+% /.test(puller.stderr()), 'the pull to report progress', 30_000);
      expect(await listJobsOnBus()).toHaveLength(1);
      puller.proc.kill('SIGINT');
      const run = await puller.done;
      expect(run.code).toBe(130);
      const errors = run.stderr.split('\n').filter((l) => l.startsWith('bootc-storagectl:'));
      expect(errors).toEqual([
        expect.stringMatching(
          new RegExp(
            `^bootc-storagectl: pull of ${slowCancel.replace(/\./g, '\\.')} canceled \\(job \\d+\\)$`,
          ),
        ),
      ]);
      expect(run.stdout).toBe('');
      await waitFor(async () => (await listJobsOnBus()).length === 0, 'the job to go');
      expect((await cli(['exists', slowCancel])).code).toBe(1);
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
  });
});

describe('authorization', () => {
  it('an unprivileged caller may read', async () => {
    const run = await cli(['exists', ref], { uid: NOBODY });
    expect(run.code, run.stderr).toBe(0);
    const list = await cli(['list', '--json'], { uid: NOBODY });
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((i) => i.id)).toContain(refId);
  });

  it('an unprivileged pull is refused by polkit: one line, status 3, nothing fetched', async () => {
    const denied = `${s.registry.host}/cli/denied:v1`;
    const run = await cli(['pull', denied], { uid: NOBODY });
    expect(run.code).toBe(3);
    expectOneErrorLine(
      run,
      new RegExp(
        `^bootc-storagectl: cannot pull ${denied.replace(/\./g, '\\.')}: access denied: not authorized for org\\.bootc\\.storage\\.pull$`,
      ),
    );
    expect(run.stdout).toBe('');

    const noAsk = await cli(['--no-ask-password', 'pull', denied], { uid: NOBODY });
    expect(noAsk.code).toBe(3);
    expectOneErrorLine(
      noAsk,
      /cannot pull .*: authentication is required and --no-ask-password forbids asking/,
    );

    const remove = await cli(['remove', ref], { uid: NOBODY });
    expect(remove.code).toBe(3);
    expectOneErrorLine(
      remove,
      /cannot remove .*: access denied: not authorized for org\.bootc\.storage\.remove/,
    );
    expect(s.registry.countManifestGets('cli/denied')).toBe(0);
    expect((await cli(['exists', ref])).code).toBe(0);
  });
});

describe('gc', () => {
  it('collects garbage from the sysroot deployments, with a dry run first', async () => {
    // The sandbox sysroot has no deployments yet: collecting would remove everything, so it is refused.
    const refused = await cli(['gc', '--dry-run']);
    expect(refused.code).toBe(4);
    expectOneErrorLine(refused, /^bootc-storagectl: cannot collect garbage: no ostree deployments/);

    // One deployment whose host image is `ref`: everything else is garbage.
    const deployment = join(s.sandbox.sysroot, 'ostree/deploy/default/deploy', `${'a'.repeat(64)}.0`);
    mkdirSync(deployment, { recursive: true });
    writeFileSync(
      `${deployment}.origin`,
      `[origin]\ncontainer-image-reference=ostree-unverified-registry:${ref}\n`,
    );
    const listIds = async () =>
      (JSON.parse((await cli(['list', '--json'])).stdout) as { id: string }[]).map((i) => i.id).sort();
    const before = await listIds();
    const garbage = before.filter((id) => id !== refId);
    expect(before).toContain(refId);
    expect(garbage.length).toBeGreaterThan(0);

    const dry = await cli(['gc', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout) as { dryRun: boolean; removed: string[] };
    expect(planned).toEqual({ dryRun: true, removed: expect.any(Array) });
    expect([...planned.removed].sort()).toEqual(garbage);
    const dryText = await cli(['gc', '-n']);
    expect(dryText.stdout.trimEnd().split('\n').sort()).toEqual(garbage.map((id) => `Would delete ${id}`));
    expect(await listIds()).toEqual(before);

    const real = await cli(['gc', '--json']);
    expect(real.code, real.stderr).toBe(0);
    const done = JSON.parse(real.stdout) as { dryRun: boolean; removed: string[] };
    expect(done.dryRun).toBe(false);
    expect([...done.removed].sort()).toEqual(garbage);
    expect(await listIds()).toEqual([refId]);
    const nothing = await cli(['gc']);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toBe('Nothing to remove.\n');
  });
});
