// The one way this project runs a child process (execa underneath). It owns the child's whole life: its own
// process group, so a cancel, a time limit or a stdout overflow reaches every descendant (SIGTERM, then SIGKILL
// after a grace period, then the pipes are cut so a grandchild holding them cannot wedge the call); a capped
// stdout; a stderr tail and a per-line callback; extra fds passed at fixed indexes. execa's own `cancelSignal`
// and `timeout` kill only the direct child, so they are not used.

import { openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { execa, type ResultPromise } from 'execa';

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
  let sub: ResultPromise | undefined;
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

  const kill = (sig: NodeJS.Signals) => {
    // A settled child's group id may since have been reused by the kernel: never signal it.
    if (settled || sub?.pid === undefined) return;
    if (!ownGroup && (sub.exitCode !== null || sub.signalCode !== null)) return;
    try {
      process.kill(ownGroup ? -sub.pid : sub.pid, sig);
    } catch {
      // ESRCH: already gone
    }
  };
  const cutPipes = () => {
    for (const s of sub?.stdio ?? []) s?.destroy();
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

  try {
    sub = execa(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      extendEnv: false,
      stdio: buildStdio(opts) as never,
      detached: ownGroup, // its own process group (and session), so a stop reaches every descendant
      reject: false,
      buffer: false, // read here, with caps; execa's maxBuffer would kill the direct child only
      stripFinalNewline: false,
      cleanup: false, // parent death is handled by the callers (setpriv --pdeathsig) and killAll on shutdown
      forceKillAfterDelay: false,
      windowsHide: true,
    });
  } catch (err) {
    const result: SupervisedResult = {
      exitCode: null,
      signal: null,
      stdout: '',
      stderrTail: '',
      argv,
      spawnError: err as NodeJS.ErrnoException,
    };
    settled = true;
    return { pid: undefined, result: Promise.resolve(result), stream: () => undefined, kill, stop };
  }
  const child = sub;

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

  const finish = (r: { exitCode?: number; signal?: string; cause?: unknown; message?: string }) => {
    settled = true;
    if (timeout) clearTimeout(timeout);
    if (killTimer) clearTimeout(killTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (partialLine.length > 0) opts.onStderrLine?.(partialLine);
    const notStarted = child.pid === undefined;
    return {
      exitCode: r.exitCode ?? null,
      signal: (r.signal as NodeJS.Signals | undefined) ?? null,
      stdout: Buffer.concat(stdoutChunks).toString('utf8'),
      stderrTail,
      argv,
      stopped,
      spawnError: notStarted
        ? ((r.cause as NodeJS.ErrnoException | undefined) ?? new Error(r.message ?? `cannot start ${file}`))
        : undefined,
    } satisfies SupervisedResult;
  };
  // reject: false makes execa resolve for every outcome; an internal failure is still mapped, never thrown.
  const result = child.then(finish, (err: unknown) => finish({ cause: err, message: String(err) }));

  return {
    pid: child.pid,
    result,
    stream: (index) => (child.stdio[index] as Readable | null | undefined) ?? undefined,
    kill,
    stop,
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
