// The daemon's command line, parsed with node:util's parseArgs: a table of options (name, value, help text,
// parser, default) that also renders --help. commander did this before; it cost the idle daemon ~1.8 MiB and
// ~6 ms of start-up (bench/memory.ts, "what each part costs"), for one parse at start.

import { parseArgs } from 'node:util';
import { STORE_LAYOUTS, type StoreLayout } from './storage/store-location.js';

/** Everything the daemon is told on its command line, defaults applied. */
export interface DaemonOptions {
  sysroot: string;
  run: string;
  authRoot?: string;
  stallTimeout: number;
  pullTimeout: number;
  lockTimeout: number;
  jobRetention: number;
  pullRetries: number;
  spaceReserve: number;
  layout: StoreLayout;
  pullWith: PullTool;
  progressTotals: boolean;
  idleTimeout?: number;
  selfCheck?: boolean;
  varlinkSocket?: string;
}

/** A value the command line cannot take; the message says what was expected. */
export class OptionError extends Error {}

const parseSeconds = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new OptionError('expected a number of seconds ≥ 0');
  return n;
};

const parseCount = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0)
    throw new OptionError('expected a whole number ≥ 0');
  return n;
};

/** Bytes, optionally with a binary suffix: 1073741824, 1024M, 1G, 0. */
export const parseBytes = (v: string) => {
  const m = /^(\d+)(?:([KMGT])i?)?B?$/i.exec(v.trim());
  const n = m ? Number(m[1]) * 1024 ** ['', 'K', 'M', 'G', 'T'].indexOf((m[2] ?? '').toUpperCase()) : NaN;
  if (!Number.isSafeInteger(n)) throw new OptionError('expected bytes, e.g. 1073741824, 512M or 1G');
  return n;
};

const parseLayout = (v: string) => {
  if (!(STORE_LAYOUTS as readonly string[]).includes(v))
    throw new OptionError(`allowed choices are ${STORE_LAYOUTS.join(', ')}`);
  return v as StoreLayout;
};

/** What pulls: skopeo where its pull is podman's own (`auto`), or always podman. */
export const PULL_TOOLS = ['auto', 'podman'] as const;
export type PullTool = (typeof PULL_TOOLS)[number];

const parsePullTool = (v: string) => {
  if (!(PULL_TOOLS as readonly string[]).includes(v))
    throw new OptionError(`allowed choices are ${PULL_TOOLS.join(', ')}`);
  return v as PullTool;
};

interface Spec {
  key: keyof DaemonOptions;
  /** The value's placeholder in --help; none for a flag. */
  arg?: string;
  help: string;
  parse?: (v: string) => unknown;
  default?: unknown;
}

const SPECS: Record<string, Spec> = {
  sysroot: { key: 'sysroot', arg: 'dir', help: 'sysroot holding ostree/bootc/storage', default: '/sysroot' },
  run: { key: 'run', arg: 'dir', help: 'run directory (runroot at <run>/bootc/storage)', default: '/run' },
  'auth-root': {
    key: 'authRoot',
    arg: 'dir',
    help: 'where {run,etc,usr/lib}/ostree/auth.json are looked up (default: the sysroot)',
  },
  'idle-timeout': {
    key: 'idleTimeout',
    arg: 'seconds',
    help: 'exit after this long with no calls and no jobs (0: never; default 120 under systemd, else 0)',
    parse: parseSeconds,
  },
  'stall-timeout': {
    key: 'stallTimeout',
    arg: 'seconds',
    help: 'fail a pull that makes no progress for this long (0: never)',
    parse: parseSeconds,
    default: 300,
  },
  'pull-timeout': {
    key: 'pullTimeout',
    arg: 'seconds',
    help: 'fail a pull that takes longer than this in total (0: a one-day cap)',
    parse: parseSeconds,
    default: 21600,
  },
  'lock-timeout': {
    key: 'lockTimeout',
    arg: 'seconds',
    help: 'how long GarbageCollect waits for the ostree sysroot lock (bootc/ostree deploying)',
    parse: parseSeconds,
    default: 300,
  },
  'job-retention': {
    key: 'jobRetention',
    arg: 'seconds',
    help: 'how long an ended job stays readable (its object, State, Result, ErrorName) for callers that started it with a Start method',
    parse: parseSeconds,
    default: 60,
  },
  'pull-retries': {
    key: 'pullRetries',
    arg: 'n',
    help: 'retry a pull this many times after a transient failure (refused/reset, timeout, stall, HTTP 5xx/429)',
    parse: parseCount,
    default: 3,
  },
  'space-reserve': {
    key: 'spaceReserve',
    arg: 'bytes',
    help: "refuse a pull (NoSpace) that would leave less free on the store's file system (K/M/G/T suffixes)",
    parse: parseBytes,
    default: 1024 ** 3,
  },
  layout: {
    key: 'layout',
    arg: 'layout',
    help: `where the store lives: ostree/bootc, composefs/bootc (linked), or detect (choices: ${STORE_LAYOUTS.join(', ')})`,
    parse: parseLayout,
    default: 'auto',
  },
  'pull-with': {
    key: 'pullWith',
    arg: 'tool',
    help: `what pulls: auto (skopeo copy into the store when installed beside podman and storage.conf changes nothing about a pull, else podman) or podman (choices: ${PULL_TOOLS.join(', ')})`,
    parse: parsePullTool,
    default: 'auto',
  },
  'no-progress-totals': {
    key: 'progressTotals',
    help: "don't ask the registry for pull sizes (saves a manifest GET per pull; no space check then)",
  },
  'self-check': { key: 'selfCheck', help: 'create/open the store, list it, print a JSON summary and exit' },
  'varlink-socket': {
    key: 'varlinkSocket',
    arg: 'path',
    help: 'where the Varlink API listens when not socket-activated (default: <run>/bootc/org.bootc.Storage)',
  },
};

/** What --help prints. */
export function renderHelp(): string {
  const rows: [string, string][] = Object.entries(SPECS).map(([name, s]) => [
    `--${name}${s.arg ? ` <${s.arg}>` : ''}`,
    s.default !== undefined ? `${s.help} (default: ${JSON.stringify(s.default)})` : s.help,
  ]);
  rows.push(['-V, --version', 'output the version number'], ['-h, --help', 'display help for command']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [
    'Usage: bootc-storaged [options]',
    '',
    "Owns bootc's containers-storage instance and serves it on the system bus as org.bootc.Storage",
    '',
    'Options:',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`),
    '',
  ].join('\n');
}

/** Parses argv (without node and the script); `help`/`version` when those were asked for. Throws OptionError. */
export function parseDaemonArgs(argv: readonly string[]): DaemonOptions | 'help' | 'version' {
  const options = Object.fromEntries(
    Object.entries(SPECS).map(([name, s]) => [
      name,
      { type: s.arg ? ('string' as const) : ('boolean' as const) },
    ]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ...options,
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const out: Record<string, unknown> = { progressTotals: true };
  for (const [name, s] of Object.entries(SPECS)) {
    const v = values[name];
    if (name === 'no-progress-totals') out.progressTotals = v !== true;
    else if (typeof v === 'string') {
      try {
        out[s.key] = s.parse ? s.parse(v) : v;
      } catch (err) {
        throw new OptionError(
          `option '--${name} <${s.arg}>' argument '${v}' is invalid. ${(err as Error).message}`,
        );
      }
    } else if (v === true) out[s.key] = true;
    else if (s.default !== undefined) out[s.key] = s.default;
  }
  return out as unknown as DaemonOptions;
}
