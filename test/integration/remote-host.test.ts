// `bootc-storagectl -H`: another host's daemon over SSH, as `systemctl -H` reaches one. A real sshd (Debian's
// OpenSSH) on 127.0.0.1 with keys made here stands for the remote host: each key's forced command is what that
// login finds there (systemd-stdio-bridge to the test's system bus with the daemon, to a bus without it, no
// bridge at all). The CLI runs ssh itself; polkit must see the remote login's user as the caller.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, type CliRun, spawnCli, spawnCliTty } from '../helpers/cli-process.js';
import { CLI_BUNDLE, callStorage } from '../helpers/daemon.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { REPO, type SystemBus, startSystemBus } from '../helpers/system-bus.js';
import { waitFor } from '../helpers/wait-for.js';
import { REMOTE_TEST_USER } from './global-setup.js';

const SLOW_RATE = 600 * 1024;
const FAST_RATE = 1024 * 1024 * 1024;
const SLOW_IMAGE_BYTES = 2 * 1024 * 1024;

let s: Stack;
let sshd: Sshd;
/** A bus with polkitd and no bootc-storaged: a host where the daemon is not installed. */
let emptyBus: SystemBus;
/** The CLI's XDG_RUNTIME_DIR, where its private socket directories go (checked empty after each run). */
let cliTmp: string;
let ref: string;
let refId: string;
let slow: string;
let slowTty: string;
let slowCancel: string;
let slowTtyCancel: string;

/** The CLI's environment for ssh logging in with `key`: its private socket directories go to cliTmp. */
function remoteEnv(key: string, opts: { knownHost?: boolean } = {}): NodeJS.ProcessEnv {
  return { BOOTC_STORAGECTL_SSH: sshd.sshProgram(key, opts), XDG_RUNTIME_DIR: cliTmp, TMPDIR: cliTmp };
}

/** No local bus: a CLI that ignored -H would fail to connect, not pass. */
const NO_LOCAL_BUS = 'unix:path=/nonexistent/bus';

/** The environment of a CLI on a pseudo-terminal, ssh logging in with the daemon's key. */
const ttyEnv = () => ({ DBUS_SYSTEM_BUS_ADDRESS: NO_LOCAL_BUS, ...remoteEnv('daemon') });

/** Runs the CLI with `-H target` and ssh logging in with `key` (or, with `ssh`, another ssh program). */
function startRemote(
  key: string,
  target: string,
  args: string[],
  opts: { knownHost?: boolean; ssh?: string } = {},
): CliProcess {
  const env = remoteEnv(key, opts);
  return spawnCli(CLI_BUNDLE, ['-H', target, ...args], {
    busAddress: NO_LOCAL_BUS,
    env: opts.ssh === undefined ? env : { ...env, BOOTC_STORAGECTL_SSH: opts.ssh },
  });
}

/** Whatever the run ended with: no ssh of the test's left running, no socket directory left behind. */
async function expectNothingLeft(): Promise<void> {
  await waitFor(() => sshLeft() === '', 'every ssh to end', 5_000, 50);
  expect(readdirSync(cliTmp)).toEqual([]);
}

/** After a Ctrl-C: nothing left here, and the remote job gone without its image. */
async function expectCanceledThere(image: string): Promise<void> {
  await expectNothingLeft();
  await waitFor(
    async () => ((await callStorage(s.client, 'ListJobs')) as [unknown[]])[0].length === 0,
    'the remote job to go',
  );
  const [present] = (await callStorage(s.client, 'Exists', 's', [image])) as [boolean];
  expect(present).toBe(false);
}

/** Runs the CLI to its end with `-H target`, then checks it left nothing behind. */
async function remote(
  key: string,
  target: string,
  args: string[],
  opts: { knownHost?: boolean } = {},
): Promise<CliRun> {
  const run = await startRemote(key, target, args, opts).done;
  await expectNothingLeft();
  return run;
}

/** A failure's stderr: exactly one line naming the host first. */
function expectOneErrorLine(run: CliRun, target: string, pattern: RegExp): void {
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]?.startsWith(`bootc-storagectl: ${target}: `), lines[0]).toBe(true);
  expect(lines[0]).toMatch(pattern);
}

/** The ssh processes the CLI started with the test's configs, still running. */
function sshLeft(): string {
  try {
    return execFileSync('pgrep', ['-af', `ssh -F ${s.dir}`], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

beforeAll(async () => {
  s = await startStack();
  emptyBus = await startSystemBus(join(s.dir, 'empty-bus'));
  cliTmp = join(s.dir, 'cli-tmp');
  mkdirSync(cliTmp);
  const bridge = (bus: SystemBus) => `systemd-stdio-bridge -p ${bus.address}`;
  sshd = await startSshd(join(s.dir, 'sshd'), [
    { name: 'daemon', command: bridge(s.bus) },
    { name: 'empty', command: bridge(emptyBus) },
    // What a login's shell says on a host without systemd's bridge.
    { name: 'nobridge', command: 'PATH=/nonexistent; systemd-stdio-bridge' },
    // A host whose system bus is down: the bridge cannot connect and says so on stderr.
    {
      name: 'nobus',
      command: 'SYSTEMD_LOG_TARGET=console systemd-stdio-bridge -p unix:path=/nonexistent/bus',
    },
    { name: 'stranger', command: undefined },
  ]);
  ref = `${s.registry.host}/remote/hello:v1`;
  refId = await s.builder.buildAndPush(ref, { bytes: 200 * 1024 });
  const names = [
    'remote/slow:v1',
    'remote/slow-tty:v1',
    'remote/slow-cancel:v1',
    'remote/slow-tty-cancel:v1',
  ];
  await Promise.all(
    names.map((n) => s.builder.buildAndPush(`${s.registry.host}/${n}`, { bytes: SLOW_IMAGE_BYTES })),
  );
  [slow, slowTty, slowCancel, slowTtyCancel] = names.map((n) => `${s.proxy.host}/${n}`) as [
    string,
    string,
    string,
    string,
  ];
});

afterAll(async () => {
  await sshd?.stop();
  await emptyBus?.stop();
  await s?.stop();
});

describe('bootc-storagectl -H over a real sshd', () => {
  it('lists the remote store exactly as a local client sees it', async () => {
    await callStorage(s.client, 'Pull', 'ss', [ref, 'missing']);
    const target = sshd.target('root');
    const run = await remote('daemon', target, ['list', '--json']);
    expect(run.code, `${run.stderr}\n${sshd.log()}`).toBe(0);
    const local = spawnCli(CLI_BUNDLE, ['list', '--json'], { busAddress: s.bus.address });
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse((await local.done).stdout));
    expect((JSON.parse(run.stdout) as { id: string }[]).map((i) => i.id)).toContain(refId);
    expect(run.stderr).toBe('');
    const exists = await remote('daemon', target, ['exists', ref]);
    expect(exists.code, exists.stderr).toBe(0);
    // What ssh was asked to run, as systemctl -H asks: no terminal, no X11, the host after "--", then the bridge.
    // (No prompt is possible without a terminal, so BatchMode too.)
    expect(sshd.sshArgvLog().trim().split('\n').at(-1)).toBe(
      `[-xT][-o][BatchMode=yes][-p][${sshd.port}][-l][root][--][127.0.0.1][systemd-stdio-bridge]`,
    );
  });

  it('pulls with its progress, as root of the remote host', async () => {
    s.proxy.setRate(SLOW_RATE);
    try {
      const run = await remote('daemon', sshd.target('root'), ['pull', slow]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(`Fetched ${slow}\n`);
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines).toContain(lines.find((l) => /^pull: running \(job \d+\)$/.test(l)));
      const amounts = lines.filter((l) => /^pull: \d+% \d+(\.\d)? (kB|MB)\/2\.\d MB/.test(l));
      expect(amounts.length, run.stderr).toBeGreaterThanOrEqual(2);
      expect(amounts.at(-1)).toMatch(/^pull: 100% (2\.\d MB)\/\1 layer 1\/1$/);
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
    const [present] = (await callStorage(s.client, 'Exists', 's', [slow])) as [boolean];
    expect(present).toBe(true);
  });

  it('draws the live progress bar on a terminal, ssh sharing that terminal', async () => {
    s.proxy.setRate(SLOW_RATE);
    try {
      // On a pseudo-terminal ssh stays in the CLI's foreground group, free to prompt.
      const { screen: stdout } = await spawnCliTty(['-H', sshd.target('root'), 'pull', slowTty], ttyEnv())
        .done;
      const bars = stdout.split(/\r\n|\r|\n/).filter((f) => /\[[=> ]+\] \d+%/.test(f));
      expect(bars.length, stdout).toBeGreaterThan(3);
      expect(bars.at(-1)).toMatch(/\[=+\] 100% +2\.\d MB\/2\.\d MB +layer 1\/1/);
      expect(stdout).toContain(`Fetched ${slowTty}`);
      await expectNothingLeft();
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
  });

  it('Ctrl-C cancels the remote job and exits 130', async () => {
    s.proxy.setRate(150 * 1024);
    try {
      const puller = startRemote('daemon', sshd.target('root'), ['pull', slowCancel]);
      await waitFor(() => /pull: \d+% /.test(puller.stderr()), 'the pull to report progress', 30_000);
      puller.proc.kill('SIGINT');
      const run = await puller.done;
      expect(run.code, run.stderr).toBe(130);
      expect(run.stderr).toMatch(/pull of \S+ canceled \(job \d+\)/);
      await expectCanceledThere(slowCancel);
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
  });

  it('Ctrl-C on the terminal cancels the remote job though ssh shares that terminal, and exits 130', async () => {
    s.proxy.setRate(150 * 1024);
    try {
      // On a pseudo-terminal ^C typed there reaches the whole foreground group, ssh too.
      const tty = spawnCliTty(['-H', sshd.target('root'), 'pull', slowTtyCancel], ttyEnv());
      await waitFor(() => /\] \d+%/.test(tty.screen()), 'the bar to show', 30_000);
      tty.proc.stdin?.write('\u0003');
      const { code, screen } = await tty.done;
      expect(code, screen).toBe(130);
      expect(screen).toMatch(/pull of \S+ canceled \(job \d+\)/);
      await expectCanceledThere(slowTtyCancel);
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
  });

  it('an unprivileged remote user may read, and polkit refuses its pull', async () => {
    const target = sshd.target(REMOTE_TEST_USER);
    const list = await remote('daemon', target, ['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((i) => i.id)).toContain(refId);
    // Locally the test is root, whom polkit always allows: the refusal shows the remote user is the caller.
    const denied = `${s.registry.host}/remote/denied:v1`;
    const run = await remote('daemon', target, ['--no-ask-password', 'pull', denied]);
    expect(run.code).toBe(3);
    expectOneErrorLine(
      run,
      target,
      /cannot pull \S+: (access denied: not authorized|authentication is required).*org\.bootc\.storage\.pull/,
    );
    const [present] = (await callStorage(s.client, 'Exists', 's', [denied])) as [boolean];
    expect(present).toBe(false);
  });

  it('says why SSH failed, with exit status 10: host key, refused login, no server, no bridge', async () => {
    const target = sshd.target('root');
    const cases: [string, string, { knownHost?: boolean }, RegExp][] = [
      [
        'daemon',
        target,
        { knownHost: false },
        /host's key is not known or has changed.*Host key verification failed/,
      ],
      ['stranger', target, {}, /the SSH login was refused \(ssh: .*Permission denied \(publickey\)/],
      ['daemon', 'root@127.0.0.1:1', {}, /cannot connect to the SSH server \(ssh: .*Connection refused/],
      ['daemon', 'root@no-such-host.invalid', {}, /unknown host name \(ssh: .*Could not resolve hostname/],
      ['nobridge', target, {}, /the host has no systemd-stdio-bridge .*not found/],
      [
        'nobus',
        target,
        {},
        /systemd-stdio-bridge on the host cannot reach its system bus \(ssh: .*No such file/,
      ],
    ];
    for (const [key, where, opts, pattern] of cases) {
      const run = await remote(key, where, ['list'], opts);
      expect(run.code, `${key} ${where}: ${run.stderr}`).toBe(10);
      expectOneErrorLine(run, where, pattern);
      expect(run.stdout).toBe('');
    }
  });

  it('a host without the daemon is status 1, named as locally', async () => {
    const target = sshd.target('root');
    const run = await remote('empty', target, ['list']);
    expect(run.code).toBe(1);
    expectOneErrorLine(run, target, /cannot list images: bootc-storaged is not running.*ServiceUnknown/);
  });

  it('says so when the ssh program is not there (status 10)', async () => {
    const run = await startRemote('daemon', sshd.target('root'), ['list'], { ssh: '/nonexistent/ssh' }).done;
    expect(run.code).toBe(10);
    expectOneErrorLine(run, sshd.target('root'), /cannot run \/nonexistent\/ssh: not found$/);
    await expectNothingLeft();
  });

  it('refuses a host that ssh would read as an option, without running ssh', async () => {
    for (const spec of ['-oProxyCommand=touch /tmp/x', 'root@-p22', 'a b', 'root@host:0', 'root@[::1']) {
      const run = await startRemote('daemon', spec, ['list'], { ssh: '/nonexistent/ssh' }).done;
      expect(run.code, spec).toBe(2);
      expect(run.stderr).toMatch(/is not \[USER@\]HOST\[:PORT\]/);
    }
  });

  it("bash completion offers the remote host's images after -H", async () => {
    const bin = join(s.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'bootc-storagectl'), `#!/bin/sh\nexec ${process.execPath} ${CLI_BUNDLE} "$@"\n`, {
      mode: 0o755,
    });
    const target = sshd.target('root');
    const script = [
      `source ${join(REPO, 'completions/bootc-storagectl.bash')}`,
      `COMP_WORDS=(bootc-storagectl -H ${target} exists '')`,
      'COMP_CWORD=4',
      '_bootc_storagectl',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's expansion, not a template
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const out = execFileSync('bash', ['-c', script], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        DBUS_SYSTEM_BUS_ADDRESS: NO_LOCAL_BUS,
        ...remoteEnv('daemon'),
      },
    });
    expect(out.split('\n')).toContain(ref);
  });
});
