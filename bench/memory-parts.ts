// "What each part costs": every bundle under <bench dir>/parts/ (bench/parts/*.ts, built by bench/bundle.mjs
// with the daemon bundle's own esbuild options) is loaded in a fresh node, started with the daemon's V8 flags;
// the child reports how long the require (and any start-up promise it sets) took and its VmRSS once settled.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DAEMON_NODE_OPTIONS } from '../test/helpers/daemon.js';
import { fmtMs, signedMiB, stats, table } from './lib.js';

/** One part's figures: medians over the runs. */
export interface PartCost {
  name: string;
  rssKiB: number;
  loadMs: number;
}

const SETTLE_MS = 500;

// The child: time the require (and `globalThis.ready`), wait, print {rss KiB, ms}.
const CHILD = `
const t0 = performance.now();
require(process.argv[1]);
Promise.resolve(globalThis.ready).then(() => {
  const ms = performance.now() - t0;
  setTimeout(() => {
    const rss = Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
    process.stdout.write(JSON.stringify({ rss, ms }));
    process.exit(0);
  }, ${SETTLE_MS});
});
`;

function runPart(file: string): Promise<{ rss: number; ms: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', CHILD, file],
      { env: { ...process.env, NODE_OPTIONS: DAEMON_NODE_OPTIONS }, timeout: 30_000 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as { rss: number; ms: number })),
    );
  });
}

/** Measures every built part, `reps` times each, interleaved (so a burst of load hits all parts alike). */
export async function measureParts(benchDir: string, reps: number): Promise<PartCost[]> {
  const dir = join(benchDir, 'parts');
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.cjs') && f !== 'bootc-storaged-execa.cjs') // execa's file: loaded by parts
    .map((f) => f.slice(0, -4));
  const samples = new Map(names.map((n) => [n, [] as { rss: number; ms: number }[]]));
  for (let r = 0; r < reps; r++)
    for (const n of names) samples.get(n)!.push(await runPart(join(dir, `${n}.cjs`)));
  return names.map((name) => {
    const s = samples.get(name)!;
    return { name, rssKiB: stats(s.map((x) => x.rss)).median, loadMs: stats(s.map((x) => x.ms)).median };
  });
}

/** What each part in bench/parts/ is, and where the daemon stands with it. */
const PARTS: Record<string, [string, string]> = {
  'daemon-options': ['command line: node:util parseArgs (src/daemon-options.ts)', 'at start'],
  commander: ['command line: commander', 'no longer (CLI only)'],
  pino: ['pino logger (src/log.ts)', 'at start'],
  'dbus-next': ['dbus-next, XML libraries on first use (scripts/xml2js-lazy.cjs)', 'at start'],
  'dbus-next-xml': ['dbus-next with xml2js/xmlbuilder/sax evaluated', 'no longer'],
  zod: ['classic zod, English messages only (scripts/zod-locales-en.mjs)', 'no longer'],
  'zod-all-locales': ['zod with every locale', 'no longer'],
  'zod-mini': ['zod/mini with English messages (src/schema.ts)', 'at start'],
  operations: ['the operations table: every method’s zod schemas', 'at start'],
  'dbus-transport': ['D-Bus transport with the core and dbus-next', 'at start'],
  storage: ['the engine (store.ts: podman runs, manifest, image list)', 'at start'],
  'introspection-xml': ['introspection XML, rendered once', 'on the first Introspect'],
  'varlink-transport': [
    'Varlink transport: protocol, IDL, the loop (with the operations table)',
    'on the first connection',
  ],
  gc: [
    'GC roots: deployments, bound images, boot order, GVariant',
    'at start (src/core/deployments.ts imports it)',
  ],
  'selinux-relabel': ['SELinux relabelling of a new store', 'at start (src/storage/store.ts imports it)'],
  koffi: ['koffi with libc.so.6 (native FFI)', 'on first use (sysroot lock, Varlink peer)'],
  execa: [
    'execa, loaded by the runner on its first child (src/process/execa-loader.ts)',
    'on the first spawn (at start only when a first start creates the store)',
  ],
};

/** Parts that contain another: their cost over it is shown too. */
const BASES: Record<string, string> = {
  operations: 'zod-mini',
  'dbus-transport': 'operations',
  'varlink-transport': 'operations',
  'introspection-xml': 'operations',
  'dbus-next-xml': 'dbus-next',
  'zod-all-locales': 'zod',
  gc: 'runner',
  'selinux-relabel': 'runner',
  koffi: 'runner',
  execa: 'runner',
};

/** The parts table of bench/memory.ts: each part's cost over a bare node and over the part it contains. */
export function partsTable(parts: PartCost[]): string {
  const find = (name: string) => parts.find((x) => x.name === name);
  const bare = find('bare');
  const rows = Object.entries(PARTS).flatMap(([name, [what, where]]) => {
    const p = find(name);
    if (!p || !bare) return [];
    const base = BASES[name] ? find(BASES[name]) : undefined;
    const over = base ? `${signedMiB(p.rssKiB - base.rssKiB)} over ${BASES[name]}` : '—';
    return [[what, signedMiB(p.rssKiB - bare.rssKiB), over, fmtMs(p.loadMs), where]];
  });
  return table(
    ['part', 'RSS over a bare node', 'over the part it contains', 'load time', 'in the daemon'],
    rows,
  );
}
