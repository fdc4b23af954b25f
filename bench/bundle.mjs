// Bundles each benchmark (bench/*.ts except the shared lib) into a CommonJS file under the given directory,
// the way scripts/bundle.mjs bundles the daemon, so the benchmarks run with plain node.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { build } from 'esbuild';

const outdir = process.argv[2] ?? '.cache/bench';
const entries = readdirSync('bench').filter((f) => f.endsWith('.ts') && f !== 'lib.ts');

await Promise.all(
  entries.map((f) =>
    build({
      entryPoints: [`bench/${f}`],
      outfile: `${outdir}/${basename(f, '.ts')}.cjs`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'inline',
      logLevel: 'warning',
      external: ['x11', 'usocket'],
    }),
  ),
);
