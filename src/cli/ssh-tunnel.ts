// The path to another host's system bus for `-H`: ssh runs systemd-stdio-bridge there, and dbus-next talks to
// ssh through one connection of a private Unix socket, handed to ssh as its stdin and stdout. So dbus-next
// connects through its public API (an address), while we start ssh ourselves: we hear why it failed (its
// stderr and exit status, which dbus-next's own `unixexec:` transport throws away) and stop it when done.
// On the remote host the bridge is a client of that host's system bus running as the SSH user, so polkit
// there sees that user as the caller, exactly as for a local client.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SupervisedProcess, type SupervisedResult, startSupervised } from '../process/supervise.js';
import { CliError, toOneLine } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import { REMOTE_BRIDGE, type RemoteHost, sshArguments } from './remote-host.js';

/** The ssh program: `$BOOTC_STORAGECTL_SSH` when set (as systemd's tools read `$SYSTEMD_SSH`), else ssh. */
export const SSH_PROGRAM_ENV = 'BOOTC_STORAGECTL_SSH';

/** How much of ssh's stderr is kept to say why it failed. */
const STDERR_TAIL_CHARS = 4096;
/** How long ssh has to exit after the D-Bus side saw the stream end, before we say why without it. */
const EXIT_WAIT_MS = 3_000;

/** An open path to the remote bus: its address for dbus-next, and what ended it when it ends. */
export interface SshTunnel {
  /** `unix:path=…` of the private socket; it accepts one connection, then disappears. */
  address: string;
  /** ssh may ask on our terminal (a password, a new host key): no time limit fits someone typing. */
  mayPrompt: boolean;
  /** Settles with why ssh ended (a CliError with exit status REMOTE) if it ends before `connected()`. */
  failed: Promise<CliError>;
  /** Why the connection failed, once the bus side saw it fail: ssh's account if it comes soon, else `fallback`. */
  explain(fallback: CliError): Promise<CliError>;
  /** The bus is up: ssh's stderr is passed on to ours from now on (what was held back, then each line). */
  connected(): void;
  /** Stops ssh (SIGTERM, SIGKILL after a grace) and removes the socket if nobody connected. */
  close(): void;
}

const NO_BRIDGE = `the host has no ${REMOTE_BRIDGE} (systemd's bridge to its system bus)`;
const NO_BUS = `${REMOTE_BRIDGE} on the host cannot reach its system bus`;
/** ssh's own failures end with this status; any other is the remote command's (the bridge's, or its shell's). */
const SSH_FAILED = 255;

/** Which of ssh's (or the bridge's) own words say what went wrong; the first match names the failure. */
const FAILURES: readonly [RegExp, string][] = [
  [
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|No \S+ host key is known/i,
    "the host's key is not known or has changed: check it and record it in known_hosts (ssh to the host once)",
  ],
  [/Permission denied|Too many authentication failures/i, 'the SSH login was refused'],
  [
    /Could not resolve hostname|Name or service not known|Temporary failure in name resolution/i,
    'unknown host name',
  ],
  [
    /Connection refused|Connection timed out|No route to host|Network is unreachable|Connection closed by|Connection reset|kex_exchange_identification/i,
    'cannot connect to the SSH server',
  ],
  [new RegExp(`${REMOTE_BRIDGE}.*(not found|No such file)`, 'i'), NO_BRIDGE],
  [/Failed to (connect to|open|start) .*bus/i, NO_BUS],
];

/** The last line of ssh's stderr that says something (ssh ends with the line that matters). */
function lastLine(stderr: string): string {
  return (
    stderr
      .split(/\r?\n/)
      .map((l) => toOneLine(l))
      .filter((l) => l !== '')
      .at(-1) ?? ''
  );
}

/** Why ssh ended, in words and exit status REMOTE; the host itself is named by the caller's prefix. */
export function describeSshFailure(result: SupervisedResult, program: string): CliError {
  if (result.spawnError) {
    return new CliError(`cannot run ${program}: ${toOneLine(result.spawnError.message)}`, EXIT.REMOTE);
  }
  const stderr = result.stderrTail;
  const said = lastLine(stderr).replace(/^ssh: /, '');
  const ended = result.signal ? `killed by ${result.signal}` : `exit status ${result.exitCode}`;
  const match = FAILURES.find(([re]) => re.test(stderr));
  const what =
    match?.[1] ??
    (result.exitCode === 127 ? NO_BRIDGE : undefined) ??
    // The bridge logs to the host's journal, not to us: its status is all that comes back.
    (result.exitCode !== null && result.exitCode !== SSH_FAILED ? NO_BUS : undefined) ??
    'ssh ended before the bus connection was made';
  return new CliError(`${what} (ssh: ${said === '' ? ended : said})`, EXIT.REMOTE);
}

/** Accepts the first connection of `server` and stops listening. */
function acceptOne(server: Server): Promise<Socket> {
  return new Promise((resolve) =>
    server.once('connection', (socket) => {
      server.close();
      resolve(socket);
    }),
  );
}

/**
 * Listens on a fresh socket in a private (0700) directory and starts ssh on its first connection. Nobody else
 * can connect to it: only our uid (and root) may enter the directory, and it is removed at that connection.
 */
export async function openSshTunnel(target: RemoteHost, opts: { interactive: boolean }): Promise<SshTunnel> {
  const program = process.env[SSH_PROGRAM_ENV] || 'ssh';
  const dir = mkdtempSync(join(tmpdir(), 'bootc-storagectl-'));
  const path = join(dir, 'bus');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  }).catch((err: unknown) => {
    removeDir();
    throw err;
  });

  const held: string[] = [];
  let passOn = false;
  let child: SupervisedProcess | undefined;
  let settled = false;
  let resolveFailed!: (err: CliError) => void;
  const failed = new Promise<CliError>((resolve) => {
    resolveFailed = resolve;
  });

  // ssh may ask for a password or passphrase on our terminal: then it must stay in our foreground group.
  const mayPrompt = opts.interactive && process.stdin.isTTY === true;
  void acceptOne(server).then(async (socket) => {
    removeDir();
    child = startSupervised(program, sshArguments(target, { batch: !opts.interactive }), {
      stdinout: socket,
      sameGroup: mayPrompt,
      stderrTailChars: STDERR_TAIL_CHARS,
      onStderrLine: (line) => {
        if (passOn) process.stderr.write(`${line}\n`);
        else held.push(line);
      },
    });
    await child.started;
    // ssh holds the socket now: our copy goes, so dbus-next sees the stream end when ssh exits.
    socket.destroy();
    const result = await child.result;
    if (!passOn && !settled) {
      settled = true;
      resolveFailed(describeSshFailure(result, program));
    }
  });

  return {
    address: `unix:path=${path}`,
    mayPrompt,
    failed,
    explain: (fallback) =>
      Promise.race([
        failed,
        new Promise<CliError>((r) => setTimeout(() => r(fallback), EXIT_WAIT_MS).unref()),
      ]),
    connected() {
      settled = true;
      passOn = true;
      for (const line of held.splice(0)) process.stderr.write(`${line}\n`);
    },
    close() {
      server.close();
      removeDir();
      child?.stop('canceled');
    },
  };
}
