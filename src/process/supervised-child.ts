// One supervised child: started through execa once execa is loaded (at once after the first spawn), stopped
// through execa's own options, and where execa stops short — it signals only the direct child, so a descendant
// holding the pipes would keep the call open — the rest of the process group signalled and the pipes cut here.

import { PassThrough, type Readable } from 'node:stream';
import type { Options, Result } from 'execa';
import { bufferOption, childStdio, pipedFds } from './child-stdio.js';
import type { Child, ExecaModule } from './execa-loader.js';
import { readStderr } from './stderr-lines.js';
import type {
  StopReason,
  SupervisedProcess,
  SupervisedResult,
  SuperviseOptions,
} from './supervised-types.js';

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_MAX_STDOUT = 64 * 1024 * 1024;
const DEFAULT_STDERR_TAIL = 8192;

/** The SupervisedProcess behind startSupervised: created at once, its child spawned by `spawn(execa)`. */
export class SupervisedChild implements SupervisedProcess {
  readonly result: Promise<SupervisedResult>;
  readonly started: Promise<number | undefined>;
  readonly #argv: readonly string[];
  readonly #opts: SuperviseOptions;
  readonly #ownGroup: boolean;
  readonly #graceMs: number;
  /** Aborted once the runner ends the child for any StopReason: execa's `cancelSignal`. */
  readonly #halt = new AbortController();
  /** The caller's ends of piped extra fds, fed by the child's pipes once it runs. */
  readonly #streams = new Map<number, PassThrough>();
  /** kill() calls made before the child existed, delivered once it does. */
  readonly #pendingKills: NodeJS.Signals[] = [];
  #sub: Child | undefined;
  #spawned = false;
  #settled = false;
  #stopped: StopReason | undefined;
  #timeout: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #resolve!: (r: SupervisedResult) => void;
  #resolveStarted!: (pid: number | undefined) => void;

  constructor(argv: readonly string[], opts: SuperviseOptions) {
    this.#argv = argv;
    this.#opts = opts;
    this.#ownGroup = !opts.terminal && !opts.sameGroup;
    this.#graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.result = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.started = new Promise((resolve) => {
      this.#resolveStarted = resolve;
    });
    for (const i of pipedFds(opts)) this.#streams.set(i, new PassThrough());
  }

  get pid(): number | undefined {
    return this.#sub?.pid;
  }

  stream(index: number): Readable | undefined {
    return this.#streams.get(index);
  }

  kill(sig: NodeJS.Signals): void {
    if (this.#settled) return;
    if (!this.#spawned) {
      this.#pendingKills.push(sig);
      return;
    }
    const pid = this.#sub?.pid;
    if (pid === undefined) return;
    if (!this.#ownGroup && (this.#sub?.exitCode !== null || this.#sub?.signalCode !== null)) return;
    try {
      // execa's subprocess.kill() would signal only the direct child (and arm its own SIGKILL timer).
      process.kill(this.#ownGroup ? -pid : pid, sig);
    } catch {
      // ESRCH: already gone
    }
  }

  stop(reason: StopReason): void {
    if (this.#stopped !== undefined || this.#settled) return;
    this.#stopped = reason;
    if (this.#spawned) this.#terminate();
  }

  /** Starts the child with execa; a stop asked for before this point means it is never started. */
  spawn(execa: ExecaModule['execa']): void {
    if (this.#spawned || this.#settled) return;
    this.#spawned = true;
    const opts = this.#opts;
    if (opts.signal?.aborted) this.#stopped ??= 'canceled';
    if (this.#stopped !== undefined) {
      this.#finish(this.#emptyResult());
      return;
    }
    const [file, ...args] = this.#argv as [string, ...string[]];
    let sub: Child;
    try {
      sub = execa(file, args, this.#execaOptions()) as Child;
    } catch (err) {
      // Invalid arguments (a NUL byte in argv, say) throw at once; nothing was started.
      this.#finish({ ...this.#emptyResult(), spawnError: err as NodeJS.ErrnoException });
      return;
    }
    this.#sub = sub;
    this.#resolveStarted(sub.pid);
    this.#feedStreams(sub);
    const stderr =
      sub.pid === undefined || opts.terminal
        ? Promise.resolve('')
        : readStderr(sub, opts.stderrTailChars ?? DEFAULT_STDERR_TAIL, opts.onStderrLine);
    if (sub.pid === undefined) {
      this.#cutPipes(); // it never started (ENOENT, EACCES, a missing cwd): nothing will write to them
    } else {
      this.#watch(sub);
      for (const sig of this.#pendingKills.splice(0)) this.kill(sig);
    }
    Promise.all([sub, stderr]).then(
      ([r, stderrTail]) => this.#finish(this.#resultOf(r, stderrTail)),
      // With reject: false execa does not reject; were it to, the call still settles, saying why.
      (err: unknown) => this.#finish({ ...this.#emptyResult(), spawnError: err as NodeJS.ErrnoException }),
    );
  }

  /** execa could not be loaded: the child was never started, and the result says why. */
  failToLoad(err: unknown): void {
    if (this.#spawned || this.#settled) return;
    this.#spawned = true;
    this.#finish({ ...this.#emptyResult(), spawnError: err as NodeJS.ErrnoException });
  }

  #execaOptions(): Options {
    const opts = this.#opts;
    const grace = this.#graceMs;
    return {
      cwd: opts.cwd,
      env: opts.env ?? process.env, // the whole environment, never merged with ours
      extendEnv: false,
      // Any fd number goes to spawn as it is; execa's types list only 0-9.
      stdio: childStdio(opts) as unknown as Options['stdio'],
      detached: this.#ownGroup, // its own process group (and session), so a stop reaches every descendant
      // On our exit execa kills a terminal child (the agent); it skips detached ones (setpriv --pdeathsig).
      cleanup: true,
      cancelSignal: this.#halt.signal,
      killSignal: grace > 0 ? 'SIGTERM' : 'SIGKILL',
      forceKillAfterDelay: grace > 0 ? grace : false,
      buffer: bufferOption(opts),
      maxBuffer: { stdout: opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT },
      encoding: 'utf8',
      stripFinalNewline: false,
      reject: false,
    };
  }

  /** Arms what stops a running child: the caller's AbortSignal, the time limit, a stdout overflow. */
  #watch(sub: Child): void {
    const opts = this.#opts;
    // The caller's signal aborts #halt (execa's cancelSignal) through stop(): one signal for every reason.
    opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
    // execa's `timeout` would signal only the direct child and tell no one it fired: the group must hear it too.
    if (opts.timeoutMs !== undefined) this.#timeout = setTimeout(() => this.stop('timeout'), opts.timeoutMs);
    // execa's maxBuffer truncates stdout and destroys the pipe, but neither stops the child nor tells:
    // a stdout closed without its end is that overflow.
    const out = sub.stdout;
    out?.once('close', () => {
      if (!out.readableEnded && out.errored === null) this.stop('overflow');
    });
  }

  readonly #onAbort = () => this.stop('canceled');

  /** Ends the running child: execa signals it (#halt), the rest of its group is signalled here. */
  #terminate(): void {
    this.#halt.abort(); // execa: killSignal to the child, SIGKILL after forceKillAfterDelay
    if (this.#ownGroup) this.kill(this.#graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    // A descendant holding the pipes (even one that left the group) must not keep the call open: cut them.
    const last = () => {
      if (this.#ownGroup) this.kill('SIGKILL');
      this.#cutPipes();
    };
    if (this.#graceMs <= 0) {
      last();
      return;
    }
    this.#killTimer = setTimeout(last, this.#graceMs);
    this.#killTimer.unref();
  }

  #cutPipes(): void {
    for (const s of this.#sub?.stdio ?? []) s?.destroy();
  }

  /** The child's piped extra fds flow into the streams handed out by stream(); they end when the pipe does. */
  #feedStreams(sub: Child): void {
    for (const [i, out] of this.#streams) {
      const pipe = sub.stdio[i] as Readable | null | undefined;
      if (!pipe) {
        out.end();
        continue;
      }
      pipe.pipe(out);
      pipe.once('close', () => {
        if (!out.writableEnded) out.end(); // cut, not ended: pipe() would leave `out` open
      });
    }
  }

  #resultOf(r: Result, stderrTail: string): SupervisedResult {
    const started = this.#sub?.pid !== undefined;
    return {
      exitCode: r.exitCode ?? null,
      signal: (r.signal as NodeJS.Signals | undefined) ?? null,
      stdout: typeof r.stdout === 'string' ? r.stdout : '',
      stderrTail,
      argv: this.#argv,
      stopped: this.#stopped ?? (r.isMaxBuffer ? 'overflow' : undefined),
      // A child that never started: execa's error wraps the spawn error (ENOENT, EACCES, a missing cwd).
      spawnError: started ? undefined : (((r as { cause?: unknown }).cause ?? r) as NodeJS.ErrnoException),
    };
  }

  #emptyResult(): SupervisedResult {
    return {
      exitCode: null,
      signal: null,
      stdout: '',
      stderrTail: '',
      argv: this.#argv,
      stopped: this.#stopped,
    };
  }

  #finish(result: SupervisedResult): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#timeout) clearTimeout(this.#timeout);
    if (this.#killTimer) clearTimeout(this.#killTimer);
    this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    for (const out of this.#streams.values()) if (!out.writableEnded) out.end();
    this.#resolveStarted(undefined); // no-op when it started
    this.#resolve(result);
  }
}
