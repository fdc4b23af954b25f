// bootc-storagectl as a child process on the test bus, its output collected: what the CLI tests run.

import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CLI_BUNDLE, EXECA_CHUNK_BUNDLE } from './daemon.js';

/** How a CLI run ended. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A CLI run in progress. */
export interface CliProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliRun>;
  /** Whether it has exited (and its output ended). */
  exited(): boolean;
}

/** Starts `node <bundle> ...args` on the bus at `busAddress`, as `uid` if given (from `/`). */
export function spawnCli(
  bundle: string,
  args: string[],
  opts: { busAddress: string; uid?: number; env?: NodeJS.ProcessEnv },
): CliProcess {
  const proc = spawn(process.execPath, [bundle, ...args], {
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: opts.busAddress, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid, cwd: '/' }),
  });
  let out = '';
  let err = '';
  let finished = false;
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<CliRun>((resolve) =>
    proc.once('close', (code, signal) => {
      finished = true;
      resolve({ code, signal, stdout: out, stderr: err });
    }),
  );
  return { proc, stdout: () => out, stderr: () => err, done, exited: () => finished };
}

/** A CLI run on a pseudo-terminal: the screen a user would see, and how it ended. */
export interface CliTty {
  proc: ChildProcess;
  /** Everything drawn so far (script(1) copies the terminal's output). */
  screen(): string;
  done: Promise<{ code: number | null; screen: string }>;
}

/**
 * Runs `node <CLI_BUNDLE> ...args` on a pseudo-terminal made by script(1), as someone at a terminal runs it:
 * what is written to `proc.stdin` is typed there (^C reaches the terminal's foreground group). With `detached`
 * script leads its own process group, so a test can end everything in it at once.
 */
export function spawnCliTty(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { detached?: boolean } = {},
): CliTty {
  const quoted = [process.execPath, CLI_BUNDLE, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`);
  const proc = spawn('script', ['-qfec', quoted.join(' '), '/dev/null'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let screen = '';
  proc.stdout?.on('data', (d: Buffer) => {
    screen += d.toString();
  });
  const done = new Promise<{ code: number | null; screen: string }>((resolve) =>
    proc.once('close', (code) => resolve({ code, screen })),
  );
  return { proc, screen: () => screen, done };
}

/** Runs the CLI bundle on the bus at `busAddress` to its end. */
export function runCli(busAddress: string, args: string[]): Promise<CliRun> {
  return spawnCli(CLI_BUNDLE, args, { busAddress }).done;
}

/**
 * A copy of the CLI bundle in `dir` (once), with execa's file beside it (required on the first child, the
 * polkit agent): what another user may run when the checkout sits in a 0700 directory (a `mktemp -d` clone).
 */
export function copyCliBundle(dir: string): string {
  const copy = join(dir, basename(CLI_BUNDLE));
  if (!existsSync(copy)) {
    copyFileSync(CLI_BUNDLE, copy);
    copyFileSync(EXECA_CHUNK_BUNDLE, join(dir, basename(EXECA_CHUNK_BUNDLE)));
  }
  return copy;
}
