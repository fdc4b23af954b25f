// podman on the daemon's store, run the way the daemon runs it: a private mount namespace with the store (the
// working directory) bind-mounted over /run/bootc/storage, `--root /run/bootc/storage --runroot
// /proc/self/fd/3` with fd 3 the runroot directory, and the sandbox's CONTAINERS_REGISTRIES_CONF. Podman's
// database records the graph root it was created with, so any other invocation would be refused. Shared by
// the tests (an outside writer on the store) and the benchmarks (raw podman, timed).

import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { STORAGE_ALIAS_DIR } from '../../src/storage/run-in-store.js';
import { STORE_SUBPATH } from '../../src/storage/store.js';
import type { Stack } from './stack.js';

const NAMESPACE_SCRIPT = 'mount --bind -- . "$0" && cd / && exec "$@"';

/** Milliseconds, monotonic. */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function storeDir(stack: Stack): string {
  return join(stack.sandbox.sysroot, STORE_SUBPATH);
}

function runrootDir(stack: Stack): string {
  return join(stack.sandbox.run, 'bootc/storage');
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, with an optional extra fd 3, and times it (spawn to exit). */
export function runTimed(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; fd3?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
    if (opts.fd3 !== undefined) stdio[3] = opts.fd3;
    const t0 = nowMs();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? '/', env: opts.env ?? process.env, stdio });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = nowMs() - t0;
      resolve({
        exitCode: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms,
      });
    });
  });
}

/**
 * podman on the daemon's store, invoked the way the daemon does it: a private mount namespace, the store
 * (cwd) bind-mounted over /run/bootc/storage, `--root /run/bootc/storage --runroot /proc/self/fd/3`, with fd 3
 * the runroot directory and the sandbox's CONTAINERS_REGISTRIES_CONF.
 */
export class RawPodman {
  private fd: number | undefined;

  constructor(
    private readonly stack: Stack,
    private readonly store = storeDir(stack),
    private readonly runroot = runrootDir(stack),
  ) {}

  async run(args: string[]): Promise<RunResult> {
    this.fd ??= openSync(this.runroot, constants.O_RDONLY | constants.O_DIRECTORY);
    return runTimed(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        NAMESPACE_SCRIPT,
        STORAGE_ALIAS_DIR,
        'podman',
        '--root',
        STORAGE_ALIAS_DIR,
        '--runroot',
        '/proc/self/fd/3',
        ...args,
      ],
      { cwd: this.store, env: this.stack.sandbox.env, fd3: this.fd },
    );
  }

  /** Like run(), but throws on a non-zero exit. */
  async ok(args: string[]): Promise<RunResult> {
    const r = await this.run(args);
    if (r.exitCode !== 0)
      throw new Error(`podman ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()}`);
    return r;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
