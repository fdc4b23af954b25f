// Bundles the daemon (and the CLI once it exists) into single CommonJS files for installation under
// /usr/lib/bootc-storaged/ and for the integration tests, which run the daemon as a real process. Beside them
// goes the one dependency that cannot be inlined: koffi (FFI, for the ostree sysroot lock's fcntl), whose
// JavaScript entry loads a native koffi.node per platform. It stays external and is copied, trimmed to what
// Node's resolver and koffi's own loader read on this machine's architecture, into <outdir>/node_modules, where
// `import('koffi')`/`require('koffi')` from a bundle find it.
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
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
      // unix-fd passing): left out. koffi is shipped beside the bundle (below).
      external: ['x11', 'usocket', 'koffi'],
      // execa's signal-description tables, never shown here: a stub (scripts/human-signals-stub.mjs).
      alias: { 'human-signals': './scripts/human-signals-stub.mjs' },
    }),
  ),
);

copyKoffiRuntime(join(outdir, 'node_modules'));

/**
 * koffi's runtime for this architecture, as npm lays it out: koffi's entry points (ESM, which the bundle's
 * `import('koffi')` loads, and CJS for `require`) and @koromix/koffi-linux-<arch> with its glibc binary. The
 * musl binary, koffi's C++ sources and its build tool are left out.
 */
function copyKoffiRuntime(dest) {
  rmSync(dest, { recursive: true, force: true }); // nothing stale from another version or architecture
  const arch = process.arch;
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(arch)) {
    console.warn(
      `bundle: no koffi runtime for ${process.platform}-${arch}: the sysroot lock supports Linux x64 and arm64 only`,
    );
    return;
  }
  const koffiDir = resolve('node_modules/koffi');
  const nativePkg = `@koromix/koffi-linux-${arch}`;
  let nativeDir;
  try {
    nativeDir = dirname(createRequire(join(koffiDir, 'index.cjs')).resolve(`${nativePkg}/package.json`));
  } catch {
    throw new Error(`bundle: ${nativePkg} is not installed (npm ci on a linux-${arch} machine installs it)`);
  }
  const files = [
    [koffiDir, 'koffi', ['package.json', 'LICENSE.txt', 'index.js', 'index.cjs']],
    [koffiDir, 'koffi', ['src/koffi/index.js', 'src/koffi/index.cjs']],
    [koffiDir, 'koffi', ['src/koffi/src/static.js', 'src/koffi/src/static.cjs']],
    [nativeDir, nativePkg, ['package.json', 'index.js', `linux_${arch}/koffi.node`]],
  ];
  for (const [from, to, names] of files) {
    for (const name of names) {
      const target = join(dest, to, name);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(from, name), target);
      chmodSync(target, name.endsWith('.node') ? 0o755 : 0o644);
    }
  }
}
