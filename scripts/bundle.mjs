// Bundles the daemon (and the CLI once it exists) into single CommonJS files for installation under
// /usr/lib/bootc-storaged/ and for the integration tests, which run the daemon as a real process. Beside them
// goes the one dependency that cannot be inlined: koffi (FFI, for the ostree sysroot lock's fcntl), whose
// JavaScript entry loads a native koffi.node per platform. It stays external and is copied, trimmed to what
// Node's resolver and koffi's own loader read on this machine's architecture, into <outdir>/node_modules, where
// `import('koffi')`/`require('koffi')` from a bundle find it. execa, the process runner's engine, is its own
// file beside the bundles (bootc-storaged-execa.cjs), read on the first child process. The esbuild options (what
// is left out or loaded lazily to keep the idle daemon light) are in scripts/bundle-options.mjs. Other code
// loaded only on first use (the Varlink transport, the GC roots of a collection, XML) stays in the one file,
// wrapped by esbuild so it is evaluated only when its dynamic import() runs.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { asciiOnly, daemonBuildOptions, EXECA_CHUNK, execaChunkOptions } from './bundle-options.mjs';

const outdir = process.argv[2] ?? 'dist/bundle';
const entries = [
  ['src/daemon.ts', 'bootc-storaged-main.cjs'], // started through bootc-storaged.cjs (below)
  ['src/cli/main.ts', 'bootc-storagectl.cjs'],
].filter(([src]) => existsSync(src));

await Promise.all([
  ...entries.map(([src, out]) => build(daemonBuildOptions(src, `${outdir}/${out}`))),
  build(execaChunkOptions(outdir)),
]);
for (const out of [...entries.map(([, o]) => o), EXECA_CHUNK]) asciiOnly(`${outdir}/${out}`);

copyKoffiRuntime(join(outdir, 'node_modules'));
writeDaemonLoader(outdir);

/**
 * bootc-storaged.cjs, what the launcher and the tests run: scripts/daemon-loader.cjs, which runs
 * bootc-storaged-main.cjs with V8's code cache. The cache is made here by one `--version` run (every module of
 * the bundle evaluated) with the flags the unit gives node, so V8 accepts it at run time; a node of another
 * version or other flags rejects it and compiles as usual.
 */
function writeDaemonLoader(dir) {
  const loader = join(dir, 'bootc-storaged.cjs');
  copyFileSync('scripts/daemon-loader.cjs', loader);
  rmSync(`${loader}.map`, { force: true }); // the map of an older single-file bundle: the map is the main's now
  chmodSync(loader, 0o755);
  const cache = join(dir, 'bootc-storaged-main.cjs.cache');
  rmSync(cache, { force: true });
  const r = spawnSync(process.execPath, [loader, '--version'], {
    env: { ...process.env, NODE_OPTIONS: unitNodeOptions(), BOOTC_STORAGED_WRITE_CODE_CACHE: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0 || !existsSync(cache)) throw new Error(`bundle: cannot write the code cache ${cache}`);
}

/** NODE_OPTIONS of systemd/bootc-storaged.service: the V8 flags the cache must be made with. */
function unitNodeOptions() {
  const unit = readFileSync('systemd/bootc-storaged.service', 'utf8');
  // Quoted in the unit: the value holds a space (unquoted, systemd would take only the first word).
  return /^Environment="NODE_OPTIONS=(.*)"$/m.exec(unit)?.[1] ?? '';
}

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
