// A real OpenSSH server (Debian's sshd) on 127.0.0.1 for the `-H` tests, with a host key and client keys made
// by the test. Each client key is authorized with a forced command, which stands for what that login finds on
// "the remote host": systemd-stdio-bridge to the test's private system bus, to a bus with no daemon, a host
// without the bridge, and so on. The CLI reaches it through BOOTC_STORAGECTL_SSH, a wrapper that gives ssh the
// test's own config (its key, its known_hosts): ssh reads ~/.ssh from the passwd entry, not from $HOME.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort } from './ports.js';
import { waitFor } from './wait-for.js';

/** A client key: its name and what a login with it runs on the server (a shell command line). */
export interface ClientKey {
  name: string;
  /** The forced command; undefined makes a key the server does not know (a refused login). */
  command: string | undefined;
}

export interface Sshd {
  port: number;
  /** `user@127.0.0.1:port`, what `-H` takes. */
  target(user: string): string;
  /** The ssh program for BOOTC_STORAGECTL_SSH that logs in with `key` (and trusts the host key unless told). */
  sshProgram(key: string, opts?: { knownHost?: boolean }): string;
  /** The arguments the CLI gave ssh, one line per run (each argument quoted). */
  sshArgvLog(): string;
  /** The server's log, for a failed assertion's message. */
  log(): string;
  stop(): Promise<void>;
}

function makeKey(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bootc-storaged-test', '-f', path]);
}

/** Starts sshd in `dir` (which must be traversable: sshd reads authorized_keys as the logging-in user). */
export async function startSshd(dir: string, keys: readonly ClientKey[]): Promise<Sshd> {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  // Debian's sshd refuses to start without its privilege separation directory (made by its unit on a host).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await getFreePort();
  makeKey(join(dir, 'host_key'));
  const authorized: string[] = [];
  for (const key of keys) {
    makeKey(join(dir, key.name));
    const pub = readFileSync(join(dir, `${key.name}.pub`), 'utf8').trim();
    if (key.command !== undefined) authorized.push(`command="${key.command}",restrict ${pub}`);
  }
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, `${authorized.join('\n')}\n`, { mode: 0o644 });
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no', // the test's files are root's, in a temp dir
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'PidFile none',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'sshd.log');
  writeFileSync(logFile, '');
  const sshd: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-f', config, '-E', logFile], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(
    () => readFileSync(logFile, 'utf8').includes('Server listening'),
    'sshd to listen',
    10_000,
    20,
  );

  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim();
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  writeFileSync(join(dir, 'no_known_hosts'), '');
  const argvLog = join(dir, 'ssh-argv.log');
  writeFileSync(argvLog, '');
  return {
    port,
    target: (user) => `${user}@127.0.0.1:${port}`,
    sshProgram(key, opts = {}) {
      const name = `${key}${opts.knownHost === false ? '-unknown-host' : ''}`;
      const cfg = join(dir, `ssh_config-${name}`);
      const known = join(dir, opts.knownHost === false ? 'no_known_hosts' : 'known_hosts');
      writeFileSync(
        cfg,
        [
          'Host *',
          `  IdentityFile ${join(dir, key)}`,
          '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${known}`,
          '  GlobalKnownHostsFile /dev/null',
          '  StrictHostKeyChecking yes',
          '',
        ].join('\n'),
      );
      const wrapper = join(dir, `ssh-${name}`);
      // It records what the CLI asked for: the forced commands replace the remote command, so only this shows it.
      writeFileSync(
        wrapper,
        `#!/bin/sh\nfor a in "$@"; do printf '[%s]' "$a"; done >>${argvLog}\necho >>${argvLog}\nexec ssh -F ${cfg} "$@"\n`,
        { mode: 0o755 },
      );
      return wrapper;
    },
    sshArgvLog: () => readFileSync(argvLog, 'utf8'),
    log: () => readFileSync(logFile, 'utf8'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (sshd.exitCode !== null || sshd.signalCode !== null) return resolve();
        sshd.once('close', () => resolve());
        sshd.kill('SIGTERM');
      }),
  };
}
