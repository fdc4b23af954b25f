// Disk full: the sysroot on a small tmpfs. A pull that does not fit fails with a named error; the store
// still lists; after the failed pull's space is released, a small pull works.

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callStorage } from '../helpers/daemon.js';
import { type Stack, startStack } from '../helpers/stack.js';

let s: Stack;
let sysroot: string | undefined;
beforeAll(async () => {
  s = await startStack({
    // Without the registry's size answer there is no space check (test/faults/no-space.test.ts has it): this
    // file is about podman itself hitting ENOSPC mid-pull.
    daemonArgs: ['--no-progress-totals'],
    beforeDaemon: (sb) => {
      sysroot = sb.sysroot;
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0755', 'tmpfs', sb.sysroot]);
    },
  });
});
afterAll(async () => {
  await s?.daemon.stop();
  if (sysroot) execFileSync('umount', ['-l', sysroot]);
  await s?.stop();
});

it('fails a pull that does not fit with a named error and keeps working', async () => {
  const small = `${s.registry.host}/disk/small:v1`;
  const big = `${s.registry.host}/disk/big:v1`;
  await s.builder.buildAndPush(small);
  await s.builder.buildAndPush(big, { bytes: 40 * 1024 * 1024 });
  const err = await callStorage(s.client, 'Pull', 'ss', [big, 'always']).then(
    () => undefined,
    (e: { type: string; text: string }) => e,
  );
  expect(err?.type).toBe('org.bootc.Storage.Error.PullFailed');
  expect(err?.text).toMatch(/no space left on device/i);
  expect(await callStorage(s.client, 'Exists', 's', [big])).toEqual([false]);
  expect(((await callStorage(s.client, 'List')) as [unknown[]])[0]).toEqual([]);
  const df = execFileSync('df', ['--output=avail', '-B1', sysroot!], { encoding: 'utf8' });
  console.log(`free on the sysroot after the failed pull: ${df.trim().split('\n').at(-1)} bytes`);
  expect(await callStorage(s.client, 'Pull', 'ss', [small, 'missing'])).toEqual([true]);
  expect(await callStorage(s.client, 'Exists', 's', [small])).toEqual([true]);
});
