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
import { findExecutable } from '../process/find-executable.js';
import { type SupervisedProcess, startSupervised } from '../process/supervise.js';
import { CliError, toOneLine } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import { type RemoteHost, sshArguments } from './remote-host.js';
import { describeSshFailure, lastStderrLine } from './ssh-failure.js';

/** The ssh program: `$BOOTC_STORAGECTL_SSH` when set (as systemd's tools read `$SYSTEMD_SSH`), else ssh. */
export const SSH_PROGRAM_ENV = 'BOOTC_STORAGECTL_SSH';

/** How much of ssh's stderr is kept to say why it failed. */
const STDERR_TAIL_CHARS = 4096;
/** How many of ssh's lines before the connection are kept (for a time-out's message). */
const KEPT_LINES = 20;
/** How long ssh has to exit after the D-Bus side saw the stream end, before we say why without it. */
const EXIT_WAIT_MS = 3_000;
/**
 * A directory the socket may go in: absolute, short (a socket path has 108 bytes), and without the characters
 * a D-Bus address gives meaning to (`;`, `,`, `=`, which dbus-next would split the address at).
 */
const SAFE_DIR = /^\/[A-Za-z0-9/._-]{0,60}$/;
/**
 * ssh runs with SIGINT and SIGQUIT ignored (it keeps them so): on a terminal it shares our process group to
 * prompt, and Ctrl-C must reach only us, so that we can cancel the remote job before we close the connection.
 * A fixed script: the program and its arguments stay in argv and are never read by the shell.
 */
const WITHOUT_INTERRUPTS = ['-c', 'trap "" INT QUIT; exec "$0" "$@"'];

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
  /** The failure for a handshake that never came: status REMOTE, with ssh's last word so far. */
  timedOut(ms: number): CliError;
  /** The bus is up: from now on ssh's stderr is only kept (its tail), no longer shown. */
  connected(): void;
  /** Stops ssh (SIGTERM, SIGKILL after a grace) and removes the socket if nobody connected. */
  close(): void;
}

/** Where the private directory goes: $XDG_RUNTIME_DIR (the user's own), else $TMPDIR, else /tmp. */
function socketParent(): string {
  for (const dir of [process.env.XDG_RUNTIME_DIR, tmpdir()]) if (dir && SAFE_DIR.test(dir)) return dir;
  return '/tmp';
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
  const path = findExecutable(program);
  if (path === undefined) throw new CliError(`cannot run ${program}: not found`, EXIT.REMOTE);
  // ssh may ask for a password or passphrase on our terminal: then it must stay in our foreground group.
  const mayPrompt = opts.interactive && process.stdin.isTTY === true;
  const dir = mkdtempSync(join(socketParent(), 'bootc-storagectl-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // Paused: nothing of what dbus-next sends may be read here before ssh owns the socket.
  const server = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(join(dir, 'bus'), () => resolve());
  }).catch((err: unknown) => {
    removeDir();
    throw err;
  });

  const said: string[] = [];
  let connected = false;
  let child: SupervisedProcess | undefined;
  // A process.exit anywhere (a broken pipe, an unexpected failure) must not leave ssh behind.
  const stopOnExit = () => child?.kill('SIGTERM');
  process.once('exit', stopOnExit);
  let resolveFailed!: (err: CliError) => void;
  const failed = new Promise<CliError>((resolve) => {
    resolveFailed = resolve;
  });

  void acceptOne(server).then(async (socket) => {
    removeDir();
    child = startSupervised(
      '/bin/sh',
      [...WITHOUT_INTERRUPTS, path, ...sshArguments(target, { batch: !mayPrompt })],
      {
        stdinout: socket,
        sameGroup: mayPrompt,
        stderrTailChars: STDERR_TAIL_CHARS,
        onStderrLine: (raw) => {
          if (connected) return; // its tail is kept; what ssh says about a lost connection, the CLI says in one line
          const line = toOneLine(raw); // never a remote host's escape sequences on our terminal
          said.push(line);
          if (said.length > KEPT_LINES) said.shift();
          // Someone at a terminal sees what ssh says while it logs in (a banner, a 2FA menu, a new host key).
          if (mayPrompt) process.stderr.write(`${line}\n`);
        },
      },
    );
    await child.started;
    // ssh holds the socket now: our copy goes, so dbus-next sees the stream end when ssh exits.
    socket.destroy();
    const result = await child.result;
    if (!connected) resolveFailed(describeSshFailure(result, program));
  });

  return {
    address: `unix:path=${join(dir, 'bus')}`,
    mayPrompt,
    failed,
    explain: (fallback) =>
      Promise.race([
        failed,
        new Promise<CliError>((r) => setTimeout(() => r(fallback), EXIT_WAIT_MS).unref()),
      ]),
    timedOut(ms) {
      const last = lastStderrLine(said.join('\n'));
      return new CliError(
        `no answer over SSH within ${ms / 1000} s (ssh: ${last === '' ? 'still running' : last})`,
        EXIT.REMOTE,
      );
    },
    connected() {
      connected = true;
    },
    close() {
      server.close();
      removeDir();
      child?.stop('canceled');
      process.removeListener('exit', stopOnExit);
    },
  };
}
