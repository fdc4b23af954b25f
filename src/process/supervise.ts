// The one way this project runs a child process (node:child_process underneath). It owns the child's whole
// life: its own process group, so a cancel, a time limit or a stdout overflow reaches every descendant (SIGTERM,
// then SIGKILL after a grace period, then the pipes are cut so a grandchild holding them cannot wedge the call);
// a capped stdout; a stderr tail and a per-line callback; extra fds passed at fixed indexes. (execa was used
// here once: it cost the idle daemon ~5 MiB and ~15 ms of start-up for nothing spawn() lacks, bench/memory.ts.)

import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** Why the runner ended a child itself: the AbortSignal fired, the time limit passed, or stdout overflowed. */
export type StopReason = 'canceled' | 'timeout' | 'overflow';

export interface SuperviseOptions {
  cwd?: string | undefined;
  /** The child's whole environment (never merged with ours); default: this process's environment. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Extra fds: child index (3+) → a parent fd number, or 'pipe' (readable via `stream(index)`). */
  fds?: Readonly<Record<number, number | 'pipe'>> | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /** How long SIGTERM gets before SIGKILL; 0 sends SIGKILL at once. */
  killGraceMs?: number | undefined;
  /** Collect stdout (else it goes to /dev/null); more than maxStdoutBytes stops the child ('overflow'). */
  captureStdout?: boolean | undefined;
  maxStdoutBytes?: number | undefined;
  /** Called with each non-empty stderr line (the last one even without a newline). */
  onStderrLine?: ((line: string) => void) | undefined;
  /** How much of stderr's end the result keeps, in characters. */
  stderrTailChars?: number | undefined;
  /**
   * The child shares our terminal: stdin/stdout/stderr inherited, and it stays in our session and process group
   * (an agent that prompts for a password). Then only the child itself is signalled.
   */
  terminal?: boolean | undefined;
}

export interface SupervisedResult {
  /** null when a signal ended the child or it never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderrTail: string;
  argv: readonly string[];
  /** Set when the runner ended the child itself. */
  stopped?: StopReason | undefined;
  /** Set when the program could not be started at all (ENOENT, EACCES, a missing cwd, …). */
  spawnError?: NodeJS.ErrnoException | undefined;
}

export interface SupervisedProcess {
  readonly pid: number | undefined;
  /** Settles once the child exited and every pipe closed (or was cut); never rejects. */
  readonly result: Promise<SupervisedResult>;
  /** The parent end of a piped extra fd. */
  stream(index: number): Readable | undefined;
  /** Signals the child's process group (its own pid with `terminal`) now, if it is still ours to signal. */
  kill(sig: NodeJS.Signals): void;
  /** Ends the child as cancel/timeout do: SIGTERM, SIGKILL after the grace period, then cut the pipes. */
  stop(reason: StopReason): void;
}

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_MAX_STDOUT = 64 * 1024 * 1024;
const DEFAULT_STDERR_TAIL = 8192;
/** Child fds always filled, so nothing the daemon holds there (a socket-activated listener at 3) leaks in. */
const FILLED_FDS = 5;

let devNullFd: number | undefined;
/** One read-only /dev/null fd, kept open, to fill child fd slots that carry nothing. */
function devNull(): number {
  devNullFd ??= openSync('/dev/null', 'r');
  return devNullFd;
}

// Never 'ignore' past stderr: libuv would leave whatever the daemon has at that index open in the child.
function buildStdio(opts: SuperviseOptions): (number | 'ignore' | 'pipe' | 'inherit')[] {
  const stdio: (number | 'ignore' | 'pipe' | 'inherit')[] = opts.terminal
    ? ['inherit', 'inherit', 'inherit']
    : ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'];
  const given = Object.keys(opts.fds ?? {}).map(Number);
  const top = Math.max(FILLED_FDS - 1, ...given);
  for (let i = 3; i <= top; i++) stdio[i] = opts.fds?.[i] ?? devNull();
  return stdio;
}

/** Starts `file` under supervision; use `runSupervised` unless the caller needs the child while it runs. */
export function startSupervised(
  file: string,
  args: readonly string[],
  opts: SuperviseOptions = {},
): SupervisedProcess {
  const argv = [file, ...args];
  const ownGroup = !opts.terminal;
  let settled = false;
  let stopped: StopReason | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let timeout: NodeJS.Timeout | undefined;
  const stdoutChunks: Buffer[] = [];
  let stdoutBytes = 0;
  let stderrTail = '';
  let partialLine = '';
  const tailChars = opts.stderrTailChars ?? DEFAULT_STDERR_TAIL;
  const maxStdout = opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT;

  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env, // the whole environment, never merged with ours
      stdio: buildStdio(opts),
      detached: ownGroup, // its own process group (and session), so a stop reaches every descendant
      windowsHide: true,
    });
  } catch (err) {
    // Invalid arguments (a NUL byte in argv, say) throw at once; nothing was started.
    return notStarted(argv, err as NodeJS.ErrnoException);
  }

  const kill = (sig: NodeJS.Signals) => {
    // A settled child's group id may since have been reused by the kernel: never signal it.
    if (settled || child.pid === undefined) return;
    if (!ownGroup && (child.exitCode !== null || child.signalCode !== null)) return;
    try {
      process.kill(ownGroup ? -child.pid : child.pid, sig);
    } catch {
      // ESRCH: already gone
    }
  };
  const cutPipes = () => {
    for (const s of child.stdio) s?.destroy();
  };
  const stop = (reason: StopReason) => {
    if (stopped !== undefined || settled) return;
    stopped = reason;
    const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    if (grace <= 0) {
      kill('SIGKILL');
      cutPipes();
      return;
    }
    kill('SIGTERM');
    killTimer = setTimeout(() => {
      kill('SIGKILL');
      cutPipes();
    }, grace);
    killTimer.unref();
  };
  const onAbort = () => stop('canceled');

  if (opts.signal?.aborted) queueMicrotask(onAbort);
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.timeoutMs !== undefined) timeout = setTimeout(() => stop('timeout'), opts.timeoutMs);

  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (stdoutBytes > maxStdout) return stop('overflow');
    stdoutChunks.push(chunk);
  });
  const decoder = new StringDecoder('utf8');
  const onStderr = (text: string) => {
    stderrTail = (stderrTail + text).slice(-tailChars);
    if (!opts.onStderrLine) return;
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) if (line.length > 0) opts.onStderrLine(line);
  };
  child.stderr?.on('data', (chunk: Buffer) => onStderr(decoder.write(chunk)));
  child.stderr?.on('end', () => onStderr(decoder.end()));

  const result = new Promise<SupervisedResult>((resolve) => {
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (partialLine.length > 0) opts.onStderrLine?.(partialLine);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stderrTail,
        argv,
        stopped,
        spawnError,
      });
    };
    // 'close': the child exited and every pipe closed (or was cut). An 'error' without a pid: it never started
    // (ENOENT, EACCES, a missing cwd); once started, 'error' only reports a failed kill, which is handled above.
    child.once('close', (code, signal) => finish(code, signal));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        cutPipes();
        finish(null, null, err);
      }
    });
  });

  return {
    pid: child.pid,
    result,
    stream: (index) => (child.stdio[index] as Readable | null | undefined) ?? undefined,
    kill,
    stop,
  };
}

/** A child that could not be started at all: a settled result carrying why. */
function notStarted(argv: readonly string[], spawnError: NodeJS.ErrnoException): SupervisedProcess {
  const result: SupervisedResult = {
    exitCode: null,
    signal: null,
    stdout: '',
    stderrTail: '',
    argv,
    spawnError,
  };
  return {
    pid: undefined,
    result: Promise.resolve(result),
    stream: () => undefined,
    kill: () => {},
    stop: () => {},
  };
}

/** Runs `file` to completion under supervision; see SuperviseOptions. Never rejects: read `stopped`/`spawnError`. */
export function runSupervised(
  file: string,
  args: readonly string[],
  opts: SuperviseOptions = {},
): Promise<SupervisedResult> {
  return startSupervised(file, args, opts).result;
}
