// PullFromHost's copy: an image from the host's default containers-storage into our store through the alias
// path, with podman's own `image push` (no --root: the source is the host's store). Kept apart from store.ts,
// which hands it its podman runner.

import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createError } from '../errors.js';
import { parseReference } from './reference.js';
import type { CallOptions } from './removal.js';
import {
  assertSuccess,
  lastLine,
  RUNROOT_FD,
  type RunInStoreOptions,
  type RunInStoreResult,
  STORAGE_ALIAS_DIR,
} from './run-in-store.js';

/** What the copy needs of the store: its paths, limits, log and podman runner (undefined bind: no namespace). */
export interface HostCopyContext {
  storePath: string;
  stateDir: string;
  pullTimeoutMs: number;
  readTimeoutMs: number;
  log: Logger;
  run(
    bindSource: string | undefined,
    args: readonly string[],
    opts: Partial<RunInStoreOptions>,
  ): Promise<RunInStoreResult>;
}

/** Copies `input` from the host's default store into ours; NotFound when the host does not have it. */
export async function copyFromHost(
  ctx: HostCopyContext,
  input: string,
  opts: CallOptions = {},
): Promise<void> {
  const ref = parseReference(input);
  // podman must be the first to touch the host store, or it assumes an upgrade and picks CNI (bootc #1101).
  const info = await ctx.run(undefined, ['system', 'info'], {
    signal: opts.signal,
    timeoutMs: ctx.readTimeoutMs,
  });
  if (info.exitCode !== 0) ctx.log.warn({ stderr: lastLine(info.stderrTail) }, 'podman system info failed');
  const tmpRunroot = await mkdtemp(join(ctx.stateDir, 'host-runroot-'));
  const fd = openSync(tmpRunroot, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const dest = `containers-storage:[overlay@${STORAGE_ALIAS_DIR}+/proc/self/fd/${RUNROOT_FD}]${ref.canonical}`;
    const result = await ctx.run(
      ctx.storePath,
      ['image', 'push', '--remove-signatures', '--', ref.canonical, dest],
      { signal: opts.signal, timeoutMs: ctx.pullTimeoutMs, runrootFd: fd },
    );
    if (result.exitCode !== 0 && /image not known|no such image/i.test(result.stderrTail)) {
      throw createError('NotFound', `${ref.canonical} is not in the host's container storage`, {
        image: ref.canonical,
      });
    }
    assertSuccess(result, `copying ${ref.canonical} from host storage`);
  } finally {
    closeSync(fd);
    await rm(tmpRunroot, { recursive: true, force: true });
  }
}
