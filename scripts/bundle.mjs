// Bundles the daemon (and the CLI once it exists) into single CommonJS files for installation under
// /usr/lib/bootc-storaged/ and for the integration tests, which run the daemon as a real process.
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = process.argv[2] ?? 'dist/bundle';
const entries = [
  ['src/daemon.ts', 'bootc-storaged.cjs'],
  ['src/cli/main.ts', 'bootc-storagectl.cjs'],
].filter(([src]) => existsSync(src));

await Promise.all(
  entries.map(([src, out]) =>
    build({
      entryPoints: [src],
      outfile: `${outdir}/${out}`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs', // dbus-next and pino are CommonJS; a CJS bundle needs no require shims
      // An external map: an inline one is kept in memory as source text (+20 MB RSS, measured). Node reads the
      // .map file only when run with --enable-source-maps.
      sourcemap: 'linked',
      logLevel: 'warning',
      // Optional native/X11 pieces of dbus-next that a system daemon never loads (X11 session-bus discovery,
      // unix-fd passing): left out, so the bundle has no native code.
      external: ['x11', 'usocket'],
    }),
  ),
);
