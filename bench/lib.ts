// Shared pieces of the benchmarks: statistics, tables, and raw podman invoked on the daemon's store exactly the
// way the daemon invokes it (test/helpers/store-podman.ts: private mount namespace, store bind-mounted at the
// alias, runroot as fd 3).

import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import { callStorage, connectClient } from '../test/helpers/daemon.js';
import { type Stack, type StackOptions, startStack } from '../test/helpers/stack.js';
import { runTimed } from '../test/helpers/store-podman.js';

export { RawPodman, storeDir } from '../test/helpers/store-podman.js';

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s.at(-1)! };
}

/** The p-th percentile (0–100) by nearest rank: the smallest sample with at least p % of samples ≤ it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * A distribution-free ~95 % confidence interval of the median, by order statistics (the k-th smallest and
 * k-th largest samples, k = ⌊(n − 1.96·√n) / 2⌋); min–max for very small n.
 */
export function medianCI(samples: readonly number[]): [number, number] {
  const s = [...samples].sort((a, b) => a - b);
  const k = Math.max(0, Math.floor((s.length - 1.96 * Math.sqrt(s.length)) / 2));
  return [s[k]!, s[s.length - 1 - k]!];
}

/** Milliseconds with a precision that suits the magnitude. */
export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** `median (min–max)` */
export function fmtStats(s: Stats): string {
  return `${fmtMs(s.median)} (${fmtMs(s.min)}–${fmtMs(s.max)})`;
}

export function fmtRatio(r: number): string {
  // Truncated, not rounded, so a ratio printed as the target (20×) is never one that missed it (19.96×).
  const cut = (digits: number) => (Math.floor(r * 10 ** digits) / 10 ** digits).toFixed(digits);
  return r >= 100 ? `${cut(0)}×` : r >= 10 ? `${cut(1)}×` : `${cut(2)}×`;
}

/** A Markdown table. */
export function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs fn and returns how long it took in ms (and its value). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = nowMs();
  const value = await fn();
  return { ms: nowMs() - t0, value };
}

/** Logs progress to stderr, so stdout holds only the tables. */
export function note(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** `busctl call` against the private bus; each call is a new process and a new bus connection. */
export function busctlCall(stack: Stack, member: string, signature = '', args: string[] = []) {
  return runTimed(
    'busctl',
    [
      '--system',
      '--timeout=600',
      'call',
      'org.bootc.Storage',
      '/org/bootc/Storage',
      'org.bootc.Storage',
      member,
      ...(signature ? [signature, ...args] : []),
    ],
    { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address } },
  );
}

/** A call through the stack's warm in-process client. */
export function call(bus: dbus.MessageBus, member: string, signature = '', body: unknown[] = []) {
  return callStorage(bus, member, signature, body);
}

/** More client connections (each its own unique bus name), ready to call. */
export async function connectClients(stack: Stack, n: number): Promise<dbus.MessageBus[]> {
  const clients = Array.from({ length: n }, () => connectClient(stack.bus.address));
  // One round trip to the bus each, so Hello is done before anything is timed.
  await Promise.all(
    clients.map((c) =>
      c.call(
        new dbus.Message({
          destination: 'org.freedesktop.DBus',
          path: '/org/freedesktop/DBus',
          interface: 'org.freedesktop.DBus',
          member: 'GetId',
        }),
      ),
    ),
  );
  return clients;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A process's memory figure from /proc/<pid>/status (VmRSS, VmHWM, …) in KiB. */
export function procStatusKiB(pid: number, field = 'VmRSS'): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

export function fmtMiB(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

/** A difference in KiB as MiB with its sign ("+1.2 MiB", "-0.3 MiB"). */
export function signedMiB(kib: number): string {
  return `${kib >= 0 ? '+' : ''}${fmtMiB(kib)}`;
}

/** One `running podman` debug line of the daemon: the arguments and the log time (ms since the epoch). */
export interface PodmanRun {
  time: number;
  args: string[];
}

/**
 * The daemon's `running podman` debug lines (src/storage/store.ts `run()` logs one before every child it starts:
 * podman, and skopeo via nice for the progress total) in a slice of its output.
 */
/** One pino line of the daemon's log (only the fields the benchmarks read). */
export interface LogEntry {
  time?: number;
  msg?: string;
  args?: string[];
}

/** The daemon's log as entries; lines that are not JSON (a partial last line) are skipped. */
function parseLog(log: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of log.split('\n')) {
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      // a partial or empty line
    }
  }
  return entries;
}

/** The time of the first log entry with this message, if any. */
export function logTime(log: string, msg: string): number | undefined {
  return parseLog(log).find((e) => e.msg === msg)?.time;
}

export function podmanRuns(log: string): PodmanRun[] {
  const runs: PodmanRun[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('"running podman"')) continue;
    try {
      const e = JSON.parse(line) as { time?: number; msg?: string; args?: string[] };
      if (e.msg === 'running podman') runs.push({ time: e.time ?? 0, args: e.args ?? [] });
    } catch {
      // a partial line
    }
  }
  return runs;
}

/** `image rm`, `image list`, `skopeo inspect`, …: what a podman run did, from its arguments. */
export function podmanVerb(args: readonly string[]): string {
  if (args.includes('inspect') && args.some((a) => a.endsWith('skopeo'))) return 'skopeo inspect';
  const i = args.indexOf('image');
  return i === -1 ? args.filter((a) => !a.startsWith('-')).join(' ') : `image ${args[i + 1] ?? ''}`;
}

/**
 * Waits (up to timeoutMs) until the daemon's output from offset `from` holds `needle` at least `count` times: the
 * daemon logs a job's end as it replies, so its stdout can trail the reply by a moment.
 */
export async function waitForLog(
  daemon: { output(): string },
  needle: string,
  from: number,
  count = 1,
  timeoutMs = 2000,
): Promise<boolean> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (daemon.output().slice(from).split(needle).length - 1 >= count) return true;
    if (nowMs() > deadline) return false;
    await sleep(10);
  }
}

/** Starts the stack, runs the benchmark, and always stops the stack (also on SIGINT/SIGTERM). */
export async function withStack(fn: (stack: Stack) => Promise<void>, opts: StackOptions = {}): Promise<void> {
  const stack = await startStack(opts);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    note(`${sig}: stopping the stack`);
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await fn(stack);
  } finally {
    await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Runs a bench's main and exits non-zero on failure. */
export function main(fn: () => Promise<void>): void {
  fn().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** The daemon's two pull modes that benchmarks compare against raw podman. */
export interface DaemonMode {
  label: string;
  args: string[];
}

export const DAEMON_MODES: DaemonMode[] = [
  { label: 'default (progress totals on)', args: [] },
  { label: '`--no-progress-totals`', args: ['--no-progress-totals'] },
];
