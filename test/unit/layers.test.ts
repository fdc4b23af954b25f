// ARCHITECTURE.md's layers, checked on the sources: which directory may import which, and no import cycles
// (type-only imports included: a cycle of types is still two modules that cannot be read apart). Reads every
// import, export-from and dynamic import of src/**/*.ts.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

/** A module's layer: its directory under src (api/dbus and api/varlink apart), or the file itself at the top. */
function layerOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return file.replace(/\.ts$/, '');
  return parts[0] === 'api' ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * What each layer may import besides itself (ARCHITECTURE.md's table). A string names a layer; `layer:file`
 * names one module of it only.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  errors: [],
  process: ['errors'],
  // The sysroot's own records (deployments, boot entries, the booted and staged deployment, GVariant), read
  // with the engine's leaf readers, which import nothing but errors.
  ostree: [
    'errors',
    'storage:storage/reference.ts',
    'storage:storage/resolve-inside.ts',
    'storage:storage/read-small-file.ts',
    'storage:storage/read-record.ts',
  ],
  // The engine; SELinux labels follow the booted deployment's policy.
  storage: ['errors', 'process', 'schema', 'ostree:ostree/booted-deployment.ts'],
  gc: ['errors', 'storage', 'ostree'],
  jobs: ['errors'],
  authz: ['errors', 'process'],
  core: ['errors', 'jobs', 'storage', 'gc', 'ostree', 'authz', 'schema'],
  'api/dbus': ['core', 'authz', 'errors'],
  'api/varlink': ['core', 'authz', 'errors'],
  // A bus client only: the wire names, the job fields' list, the exit statuses, its polkit agent child, the
  // version it prints, and dbus-next's one door (to hear that its bus connection ended).
  cli: [
    'errors',
    'version',
    'process',
    'api/dbus:api/dbus/names.ts',
    'api/dbus:api/dbus/dbus-next-internals.ts',
    'jobs:jobs/job-fields.ts',
  ],
  schema: [],
  version: [],
  log: ['errors'],
  'no-inspector': [],
  'systemd-notify': ['process'],
  'daemon-options': ['storage', 'errors'],
  // The wiring imports everything.
  daemon: ['*'],
};

interface Edge {
  from: string;
  to: string;
}

function readGraph(): Map<string, Edge[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(SRC);
  const graph = new Map<string, Edge[]>();
  const spec =
    /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const f of files) {
    const from = relative(SRC, f);
    const edges: Edge[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(spec)) {
      const target = resolve(dirname(f), (m[1] ?? m[2])!).replace(/\.js$/, '.ts');
      edges.push({ from, to: relative(SRC, target) });
    }
    graph.set(from, edges);
  }
  return graph;
}

/** Strongly connected components with more than one module (Tarjan). */
function cycles(graph: Map<string, Edge[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(v, Math.min(low.get(v)!, index.get(to)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("ARCHITECTURE.md's layers hold in src/", () => {
  const graph = readGraph();

  it('every import stays within what its layer may import', () => {
    const wrong: string[] = [];
    for (const edges of graph.values()) {
      for (const { from, to } of edges) {
        const a = layerOf(from);
        const b = layerOf(to);
        if (a === b) continue;
        const allowed = MAY_IMPORT[a];
        expect(allowed, `layer ${a} (of ${from}) is in the table`).toBeDefined();
        const ok = allowed!.some((rule) => rule === '*' || rule === b || rule === `${b}:${to}`);
        if (!ok) wrong.push(`${from} -> ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no source file over 400 lines (the brief; cockpit-sources.test.ts holds the page to it)', () => {
    const long = [...graph.keys()].filter((f) => readFileSync(join(SRC, f), 'utf8').split('\n').length > 400);
    expect(long).toEqual([]);
  });

  it('knows cycles and layer breaks when it sees them (the checker itself)', () => {
    const fake = new Map<string, Edge[]>([
      ['a.ts', [{ from: 'a.ts', to: 'b.ts' }]],
      ['b.ts', [{ from: 'b.ts', to: 'a.ts' }]],
      ['c.ts', [{ from: 'c.ts', to: 'a.ts' }]],
    ]);
    expect(cycles(fake)).toEqual([['a.ts', 'b.ts']]);
    expect(layerOf('api/dbus/server.ts')).toBe('api/dbus');
    expect(layerOf('gc/find-roots.ts')).toBe('gc');
    expect(layerOf('daemon.ts')).toBe('daemon');
  });
});
