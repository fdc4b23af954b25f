// The supervised runner's public types (re-exported by supervise.ts, where callers import them from).

import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

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
  /** Counted as execa's maxBuffer counts decoded text: characters, which are bytes for ASCII (podman's JSON). */
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
  /**
   * The child stays in our session and process group, as with `terminal`, but with its own stdio: a program that
   * may prompt on /dev/tty (ssh asking for a password) and must not be stopped by SIGTTIN as a background group.
   */
  sameGroup?: boolean | undefined;
  /**
   * The child's stdin and stdout are this connected socket (execa hands its fd on as it is); stderr is piped.
   * The caller destroys its own copy once `started` settles, so the peer sees the end when the child exits.
   */
  stdinout?: Socket | undefined;
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
  /**
   * The child's pid once it runs. The very first spawn waits for execa to load, so it is undefined for a moment
   * there: await `started` before reading it to tell "not yet" from "could not start".
   */
  readonly pid: number | undefined;
  /** Settles with the pid once the child was started, or undefined when it never will be; never rejects. */
  readonly started: Promise<number | undefined>;
  /** Settles once the child exited and every pipe closed (or was cut); never rejects. */
  readonly result: Promise<SupervisedResult>;
  /** The parent end of a piped extra fd, usable at once (it flows once the child runs). */
  stream(index: number): Readable | undefined;
  /** Signals the child's process group (its own pid with `terminal`) now (at its start if it has not yet). */
  kill(sig: NodeJS.Signals): void;
  /** Ends the child as cancel/timeout do: SIGTERM, SIGKILL after the grace period, then cut the pipes. */
  stop(reason: StopReason): void;
}
