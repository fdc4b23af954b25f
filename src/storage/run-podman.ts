// Runs one podman process, optionally inside a private mount namespace where a store directory is bind-mounted
// at the fixed alias path. Owns the process's whole life: stdout/stderr capture with caps, the AbortSignal
// (SIGTERM to the process group, SIGKILL after a grace period), a timeout, and parent-death cleanup.

import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createError } from '../errors.js';

/** The path podman is told its store lives at; recorded in the store's database, so it must never change. */
export const STORAGE_ALIAS_DIR = '/run/bootc/storage';
/** The child's fd number for the runroot directory (`--runroot /proc/self/fd/3`). */
export const RUNROOT_FD = 3;
/** The child's fd number for the anonymous auth file (`REGISTRY_AUTH_FILE=/proc/self/fd/4`). */
export const AUTH_FD = 4;

const BIND_FAILED_MARKER = 'bootc-storaged: cannot bind-mount the store';
// Runs as the first program inside the new namespace: bind the working directory (the store, chosen by
// the parent through `cwd`) over the alias, leave it, and become podman. "$0" is the alias; "$@" is podman's argv.
const NAMESPACE_SCRIPT = `mount --bind -- . "$0" || { echo "${BIND_FAILED_MARKER}" >&2; exit 126; }; cd / || exit 126; exec "$@"`;

/** Absolute paths of the helper programs, resolved once when a store is opened. */
export interface Toolchain {
  podman: string;
  unshare: string;
  setpriv: string;
  sh: string;
}

export interface RunPodmanOptions {
  tools: Toolchain;
  /** Run this program instead of podman (skopeo), with the same fds, environment and supervision. */
  program?: string | undefined;
  /** podman's arguments (after the binary name). */
  args: readonly string[];
  /** Store directory to bind at STORAGE_ALIAS_DIR; undefined runs podman in the host namespace. */
  bindSource?: string | undefined;
  /** Parent fd of the runroot directory, given to the child as fd 3. */
  runrootFd?: number | undefined;
  /** Parent fd of the anonymous auth file, given to the child as fd 4. */
  authFd?: number | undefined;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /** How long SIGTERM gets before SIGKILL. */
  killGraceMs?: number | undefined;
  /** Collect stdout (else it is discarded); capped at maxStdoutBytes. */
  captureStdout?: boolean;
  maxStdoutBytes?: number;
  onStderrLine?: ((line: string) => void) | undefined;
}

export interface RunPodmanResult {
  exitCode: number;
  stdout: string;
  stderrTail: string;
  argv: readonly string[];
}

const STDERR_TAIL_BYTES = 8192;
const DEFAULT_MAX_STDOUT = 64 * 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 5000;

const running = new Set<ChildProcess>();

let devNullFd: number | undefined;
/** One read-only /dev/null fd, kept open, to fill child fd slots that carry nothing. */
function devNull(): number {
  devNullFd ??= openSync('/dev/null', 'r');
  return devNullFd;
}

/** Builds the full argv: parent-death signal, private mount namespace, bind mount, then podman. */
export function buildCommand(
  tools: Toolchain,
  args: readonly string[],
  inNamespace: boolean,
  program: string = tools.podman,
): string[] {
  if (!inNamespace) return [tools.setpriv, '--pdeathsig', 'KILL', '--', program, ...args];
  return [
    tools.setpriv,
    '--pdeathsig',
    'KILL', // podman dies with the daemon even when the daemon is SIGKILLed outside systemd
    '--',
    tools.unshare,
    '--mount',
    '--propagation',
    'private', // nothing mounted inside can propagate to the host (bootc #2455)
    '--',
    tools.sh,
    '-c',
    NAMESPACE_SCRIPT,
    STORAGE_ALIAS_DIR,
    program,
    ...args,
  ];
}

/** Runs podman to completion; rejects with PodmanFailed/Canceled/TimedOut/PodmanMissing/StorageFailure. */
export function runPodman(opts: RunPodmanOptions): Promise<RunPodmanResult> {
  const argv = buildCommand(opts.tools, opts.args, opts.bindSource !== undefined, opts.program);
  const [file, ...rest] = argv as [string, ...string[]];
  if (opts.signal?.aborted) return Promise.reject(createError('Canceled', 'canceled before podman started'));
  const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'];
  // Never 'ignore' here: libuv would leave whatever the daemon has at 3/4 (the socket-activated Varlink
  // listener) open in the child.
  stdio[RUNROOT_FD] = opts.runrootFd ?? devNull();
  stdio[AUTH_FD] = opts.authFd ?? devNull();
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, rest, {
        cwd: opts.bindSource ?? '/',
        env: opts.env,
        stdio,
        detached: true, // its own process group, so cancel reaches every descendant
      });
    } catch (err) {
      reject(createError('PodmanMissing', `cannot start ${file}: ${(err as Error).message}`, {}, err));
      return;
    }
    running.add(child);
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutOverflow = false;
    let stderrTail = '';
    let partialLine = '';
    let endReason: 'canceled' | 'timeout' | 'overflow' | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone
      }
    };
    let closed = false;
    // Keyed on 'close', not on podman's exit: a descendant that still holds the pipes keeps the call open,
    // and cancel/timeout must still reach it (the whole group), then cut the pipes so 'close' can fire.
    const terminate = (reason: 'canceled' | 'timeout' | 'overflow') => {
      if (endReason !== undefined || closed) return;
      endReason = reason;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => {
        killGroup('SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
      killTimer.unref();
    };
    const onAbort = () => terminate('canceled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => terminate('timeout'), opts.timeoutMs);

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > (opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT)) {
        stdoutOverflow = true;
        terminate('overflow');
        return;
      }
      stdoutChunks.push(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
      if (!opts.onStderrLine) return;
      const lines = (partialLine + chunk).split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) if (line.length > 0) opts.onStderrLine(line);
    });

    child.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      const name = err.code === 'ENOENT' ? 'PodmanMissing' : 'StorageFailure';
      reject(createError(name, `cannot run ${file}: ${err.message}`, { argv: redact(argv) }, err));
    });
    child.on('close', (code, signal) => {
      cleanup();
      if (partialLine.length > 0) opts.onStderrLine?.(partialLine);
      const details = { exitCode: code, signal, stderrTail, argv: redact(argv) };
      if (endReason === 'canceled') return reject(createError('Canceled', 'podman was canceled', details));
      if (endReason === 'timeout') {
        return reject(createError('TimedOut', `podman did not finish within ${opts.timeoutMs} ms`, details));
      }
      if (stdoutOverflow)
        return reject(createError('StorageFailure', 'podman printed more than allowed', details));
      if (code === 126 && stderrTail.includes(BIND_FAILED_MARKER)) {
        return reject(
          createError('StorageFailure', 'cannot bind-mount the store in a private namespace', details),
        );
      }
      if (code === 127 && /not found|No such file/.test(stderrTail)) {
        return reject(createError('PodmanMissing', `${opts.tools.podman} could not be executed`, details));
      }
      resolve({
        exitCode: code ?? -1,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stderrTail,
        argv,
      });
    });

    function cleanup() {
      closed = true;
      running.delete(child);
      if (timeout) clearTimeout(timeout);
      // A pending SIGKILL must never reach a process group whose id the kernel has since reused.
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  });
}

/** Fails a finished run that exited non-zero, keeping exit code, signal and stderr tail. */
export function assertSuccess(result: RunPodmanResult, what: string): RunPodmanResult {
  if (result.exitCode === 0) return result;
  throw createError('PodmanFailed', `${what} failed: ${lastLine(result.stderrTail)}`, {
    exitCode: result.exitCode,
    signal: null,
    stderrTail: result.stderrTail,
    argv: redact(result.argv),
  });
}

/** podman's last error line, without its level/time prefix, for one-line messages. */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.includes('Error validating CNI config'));
  return escapeControls(lines.at(-1)?.replace(/^Error:\s*/, '') ?? 'no output');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we escape
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Makes text that came from outside (a registry's error message via podman) safe for a D-Bus string (no NUL)
 * and a journal line (no line breaks or control characters that could forge another entry).
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Drops the fixed namespace wrapper so logged argv shows what podman was asked. */
function redact(argv: readonly string[]): string[] {
  const i = argv.indexOf('-c');
  return i === -1 ? argv.slice(4) : argv.slice(i + 3);
}

/** Kills every podman still running (daemon shutdown): SIGTERM now, SIGKILL after the grace period. */
export async function killAllPodman(graceMs = DEFAULT_KILL_GRACE_MS): Promise<void> {
  const children = [...running];
  const closed = children.map(
    (c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('close', r))),
  );
  for (const c of children) if (c.pid !== undefined) safeKill(-c.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    for (const c of children) if (c.pid !== undefined) safeKill(-c.pid, 'SIGKILL');
  }, graceMs);
  await Promise.all(closed);
  clearTimeout(timer);
}

function safeKill(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Number of podman processes this daemon is waiting on (tests, status). */
export function countRunningPodman(): number {
  return running.size;
}
