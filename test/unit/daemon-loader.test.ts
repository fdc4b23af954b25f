// The daemon's loader (scripts/daemon-loader.cjs, installed as bootc-storaged.cjs): runs the bundle beside it as
// a CommonJS module (require, __dirname, dynamic import), writes the V8 code cache when asked, uses it when V8
// accepts it, and runs the bundle all the same without a cache or with a stale one.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { REPO } from '../helpers/system-bus.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('bsd-loader-');
  copyFileSync(join(REPO, 'scripts/daemon-loader.cjs'), join(tmp.path, 'bootc-storaged.cjs'));
});
afterEach(() => tmp.remove());

// What the daemon bundle relies on: require (relative to the bundle too), __dirname/__filename, module/exports.
const MAIN = `#!/usr/bin/env node
const { basename } = require('node:path');
const os = require('node:os');
const resolved = require.resolve('./bootc-storaged-main.cjs');
process.stdout.write(JSON.stringify({ dir: basename(__dirname), file: basename(__filename), args: process.argv.slice(2), eol: os.EOL, self: module.exports === exports, resolved: basename(resolved) }));
`;

/** Runs the loader; what the bundle printed. */
function run(env: Record<string, string> = {}): { out: unknown } {
  const r = execFileSync(process.execPath, [join(tmp.path, 'bootc-storaged.cjs'), '--flag'], {
    env: { ...process.env, NODE_OPTIONS: '', BOOTC_STORAGED_CODE_CACHE_DEBUG: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  return { out: JSON.parse(r) };
}

/** Runs the loader on a bundle that exits 3; what it said about the cache. */
function cacheState(env: Record<string, string> = {}): string {
  try {
    execFileSync(process.execPath, [join(tmp.path, 'bootc-storaged.cjs')], {
      env: { ...process.env, NODE_OPTIONS: '', BOOTC_STORAGED_CODE_CACHE_DEBUG: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  return '';
}

it('runs the bundle as a CommonJS module, writes the cache when asked, then uses it', () => {
  writeFileSync(join(tmp.path, 'bootc-storaged-main.cjs'), MAIN);
  const expected = {
    dir: tmp.path.split('/').pop(),
    file: 'bootc-storaged-main.cjs',
    args: ['--flag'],
    eol: '\n',
    self: true,
    resolved: 'bootc-storaged-main.cjs',
  };
  expect(run().out).toEqual(expected);
  const cache = join(tmp.path, 'bootc-storaged-main.cjs.cache');
  expect(existsSync(cache)).toBe(false);
  expect(run({ BOOTC_STORAGED_WRITE_CODE_CACHE: '1' }).out).toEqual(expected);
  expect(existsSync(cache)).toBe(true);
  expect(run().out).toEqual(expected);
});

it('says whether V8 took the cache: none, accepted, rejected for a changed bundle (which still runs)', () => {
  const main = join(tmp.path, 'bootc-storaged-main.cjs');
  writeFileSync(main, `${MAIN}\nprocess.on('exit', () => process.exitCode = 3);\n`);
  expect(cacheState()).toContain('code cache: none');
  cacheState({ BOOTC_STORAGED_WRITE_CODE_CACHE: '1' });
  expect(cacheState()).toContain('code cache: accepted');
  writeFileSync(main, `${MAIN}\n// changed\nprocess.on('exit', () => process.exitCode = 3);\n`);
  expect(cacheState()).toContain('code cache: rejected');
});
