// Bundles each benchmark (bench/*.ts except the shared modules) into a CommonJS file under the given directory,
// the way scripts/bundle.mjs bundles the daemon, so the benchmarks run with plain node. bench/parts/*.ts go to
// <outdir>/parts/ with the daemon bundle's own options (scripts/bundle-options.mjs): bench/memory.ts loads each
// in a fresh node to measure what that part of the daemon costs at rest.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { build } from 'esbuild';
import { asciiOnly, daemonBuildOptions, EXECA_CHUNK, execaChunkOptions } from '../scripts/bundle-options.mjs';

const outdir = process.argv[2] ?? '.cache/bench';
/** Imported by the benchmarks, not run on their own. */
const SHARED = new Set([
  'lib.ts',
  'targets.ts',
  'memory-parts.ts',
  'memory-idle.ts',
  'reads-breakdown.ts',
  'image-archive.ts',
  'scale-fixture.ts',
  'scale-gc.ts',
  'scale-report.ts',
  'plot-scale.ts',
]);
const entries = readdirSync('bench').filter((f) => f.endsWith('.ts') && !SHARED.has(f));
/** Parts bundled as they were before a change, to show what it saved. */
const WITHOUT_REDIRECTS = new Set(['zod-all-locales.ts', 'dbus-next-xml.ts']);

await Promise.all([
  // execa's own file, which the parts require from beside themselves on their first child, as the daemon does.
  build({ ...execaChunkOptions(`${outdir}/parts`), sourcemap: false }).then(() =>
    asciiOnly(`${outdir}/parts/${EXECA_CHUNK}`),
  ),
  ...entries.map((f) =>
    build({
      entryPoints: [`bench/${f}`],
      outfile: `${outdir}/${basename(f, '.ts')}.cjs`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'inline',
      logLevel: 'warning',
      external: ['x11', 'usocket', 'koffi'],
    }),
  ),
  ...readdirSync('bench/parts')
    .filter((f) => f.endsWith('.ts'))
    .map(async (f) => {
      const out = `${outdir}/parts/${basename(f, '.ts')}.cjs`;
      const opts = daemonBuildOptions(`bench/parts/${f}`, out);
      try {
        await build({ ...opts, sourcemap: false, ...(WITHOUT_REDIRECTS.has(f) ? { plugins: [] } : {}) });
        asciiOnly(out);
      } catch {
        // A part whose dependency is gone (say execa, once uninstalled) is left out of the table.
        console.warn(`bench/bundle: part ${f} not built`);
      }
    }),
]);
