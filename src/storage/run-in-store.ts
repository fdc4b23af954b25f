// Runs one program on the store (podman, or skopeo for pulls and size queries), optionally inside a private
// mount namespace where a store directory is bind-mounted at the fixed alias path. The supervised runner
// (process/supervise.ts) owns the process's life: capped stdout/stderr, the AbortSignal (SIGTERM to the process
// group, SIGKILL after a grace period), a timeout; here are the argv (with parent-death cleanup via setpriv), the
// fds, the registry of running store processes and the named errors.

import { createError, escapeControls } from '../errors.js';
import { type SupervisedProcess, startSupervised } from '../process/supervise.js';

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

export interface RunInStoreOptions {
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
  /** Send the program's stdout to stderr (skopeo prints its progress lines there), inside the namespace. */
  stdoutToStderr?: boolean | undefined;
  /** Collect stdout (else it is discarded); capped at maxStdoutBytes. */
  captureStdout?: boolean;
  maxStdoutBytes?: number;
  onStderrLine?: ((line: string) => void) | undefined;
}

export interface RunInStoreResult {
  exitCode: number;
  stdout: string;
  stderrTail: string;
  argv: readonly string[];
}

const STDERR_TAIL_BYTES = 8192;
const DEFAULT_KILL_GRACE_MS = 5000;

const running = new Set<SupervisedProcess>();

/** Builds the full argv: parent-death signal, private mount namespace, bind mount, then podman. */
export function buildCommand(
  tools: Toolchain,
  args: readonly string[],
  inNamespace: boolean,
  program: string = tools.podman,
  stdoutToStderr = false,
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
    stdoutToStderr ? `${NAMESPACE_SCRIPT} >&2` : NAMESPACE_SCRIPT,
    STORAGE_ALIAS_DIR,
    program,
    ...args,
  ];
}

/** Runs podman to completion; rejects with PodmanFailed/Canceled/TimedOut/ToolMissing/StorageFailure. */
export async function runInStore(opts: RunInStoreOptions): Promise<RunInStoreResult> {
  const argv = buildCommand(
    opts.tools,
    opts.args,
    opts.bindSource !== undefined,
    opts.program,
    opts.stdoutToStderr,
  );
  const [file, ...rest] = argv as [string, ...string[]];
  if (opts.signal?.aborted) throw createError('Canceled', 'canceled before podman started');
  // The runner keeps the call open until the pipes close (not just podman's exit), so cancel/timeout still
  // reach a descendant holding them (the whole group), and it cuts the pipes after SIGKILL.
  const child = startSupervised(file, rest, {
    cwd: opts.bindSource ?? '/',
    env: opts.env,
    // Slots 3/4 are always filled (/dev/null when unused): a socket-activated listener must not leak in.
    fds: podmanFds(opts),
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
    killGraceMs: opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    captureStdout: opts.captureStdout,
    maxStdoutBytes: opts.maxStdoutBytes,
    onStderrLine: opts.onStderrLine,
    stderrTailChars: STDERR_TAIL_BYTES,
  });
  running.add(child);
  const r = await child.result.finally(() => running.delete(child));
  if (r.spawnError) {
    const err = r.spawnError;
    const name = err.code === 'ENOENT' ? 'ToolMissing' : 'StorageFailure';
    throw createError(name, `cannot run ${file}: ${err.message}`, { argv: redact(argv) }, err);
  }
  const { stderrTail } = r;
  const details = { exitCode: r.exitCode, signal: r.signal, stderrTail, argv: redact(argv) };
  if (r.stopped === 'canceled') throw createError('Canceled', 'podman was canceled', details);
  if (r.stopped === 'timeout') {
    throw createError('TimedOut', `podman did not finish within ${opts.timeoutMs} ms`, details);
  }
  if (r.stopped === 'overflow')
    throw createError('StorageFailure', 'podman printed more than allowed', details);
  if (r.exitCode === 126 && stderrTail.includes(BIND_FAILED_MARKER)) {
    throw createError('StorageFailure', 'cannot bind-mount the store in a private namespace', details);
  }
  if (r.exitCode === 127 && /not found|No such file/.test(stderrTail)) {
    throw createError('ToolMissing', `${opts.tools.podman} could not be executed`, details);
  }
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderrTail, argv };
}

/** The child's fds 3 (runroot) and 4 (auth file), where the caller has them. */
function podmanFds(opts: RunInStoreOptions): Record<number, number> {
  const fds: Record<number, number> = {};
  if (opts.runrootFd !== undefined) fds[RUNROOT_FD] = opts.runrootFd;
  if (opts.authFd !== undefined) fds[AUTH_FD] = opts.authFd;
  return fds;
}

/** Fails a finished run that exited non-zero, keeping exit code, signal and stderr tail. */
export function assertSuccess(result: RunInStoreResult, what: string): RunInStoreResult {
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

/** Drops the fixed namespace wrapper so logged argv shows what podman was asked. */
function redact(argv: readonly string[]): string[] {
  const i = argv.indexOf('-c');
  return i === -1 ? argv.slice(4) : argv.slice(i + 3);
}

/** Kills every podman still running (daemon shutdown): SIGTERM now, SIGKILL after the grace period. */
export async function killStoreProcesses(graceMs = DEFAULT_KILL_GRACE_MS): Promise<void> {
  const children = [...running];
  for (const c of children) c.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const c of children) c.kill('SIGKILL');
  }, graceMs);
  await Promise.all(children.map((c) => c.result));
  clearTimeout(timer);
}

/** Number of podman processes this daemon is waiting on (tests, status). */
export function countStoreProcesses(): number {
  return running.size;
}
