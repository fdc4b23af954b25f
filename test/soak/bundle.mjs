// Bundles the soak (test/soak/main.ts) into one CommonJS file, as bench/bundle.mjs bundles the benchmarks, so
// `make soak` runs it with plain node. From <outdir>, the test helpers find the repository two levels up.
import { build } from 'esbuild';

const outdir = process.argv[2] ?? '.cache/soak';
await build({
  entryPoints: ['test/soak/main.ts'],
  outfile: `${outdir}/soak.cjs`,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  logLevel: 'warning',
  // esbuild bundles the nobody agent at run time: it stays a package of the checkout.
  external: ['x11', 'usocket', 'koffi', 'esbuild'],
});
