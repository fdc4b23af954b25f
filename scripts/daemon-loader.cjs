#!/usr/bin/env node
// bootc-storaged.cjs: loads the daemon bundle (bootc-storaged-main.cjs beside it) with V8's code cache
// (bootc-storaged-main.cjs.cache, written by scripts/bundle.mjs when it builds the bundle). V8 then skips
// parsing and compiling the ~0.9 MB bundle and everything its modules run at start-up: less CPU before the
// first reply and ~1.5 MiB less resident memory (bench/memory.ts). The cache is only used when V8 accepts it
// (same V8 version, flags and source); otherwise the bundle is compiled as `require` would, just slower.
// Node 20 has no module.enableCompileCache, hence this file. BOOTC_STORAGED_WRITE_CODE_CACHE=1 writes the cache
// at exit (the build does it with `--version`); BOOTC_STORAGED_CODE_CACHE_DEBUG=1 says on stderr what happened.
'use strict';

const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const main = join(__dirname, 'bootc-storaged-main.cjs');
const cacheFile = `${main}.cache`;

/** The cache, if there is one to try. */
function readCache() {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/** Compiles and runs the bundle as a CommonJS module, with the code cache when V8 takes it. */
function run() {
  const cachedData = readCache();
  // As the CommonJS loader does: strip the bundle's #! line, wrap it in the module function.
  const source = Module.wrap(readFileSync(main, 'utf8').replace(/^#!.*/, ''));
  // No import() can run in this script (Node 20 allows it in vm only with --experimental-vm-modules): the
  // bundle is built with dynamic imports turned into require() (scripts/bundle-options.mjs).
  const script = new vm.Script(source, { filename: main, cachedData });
  const state = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  if (process.env.BOOTC_STORAGED_CODE_CACHE_DEBUG === '1') process.stderr.write(`code cache: ${state}\n`);
  if (process.env.BOOTC_STORAGED_WRITE_CODE_CACHE === '1') {
    delete process.env.BOOTC_STORAGED_WRITE_CODE_CACHE;
    // At exit: the cache then holds every function the run compiled, not only the top level.
    process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
  }
  const mod = new Module(main, module);
  mod.filename = main;
  mod.paths = Module._nodeModulePaths(dirname(main));
  require.cache[main] = mod;
  const wrapper = script.runInThisContext({ displayErrors: true });
  wrapper.call(mod.exports, mod.exports, Module.createRequire(main), mod, main, dirname(main));
  mod.loaded = true;
}

run();
