// SELinux labelling of the store, once, as if it lived at /var/lib/containers/storage. The step is pluggable so
// the stamp logic is tested on machines without SELinux. The usual relabeler (selinux-label.ts,
// createDeploymentRelabeler) takes the policy of the booted or default deployment and falls back to
// relabelWithRestorecon here, which only acts when the host has a loaded policy.

import { closeSync, constants, existsSync, fsyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createError } from '../errors.js';
import { findExecutable } from '../process/find-executable.js';
import { runSupervised } from '../process/supervise.js';

/** Stamp file recording that the store was labelled (upstream name, kept for compatibility). */
export const LABELED_STAMP = '.bootc_labeled';

/** Where container storage normally lives; its file-context rules are the ones the store should get. */
export const LABEL_AS_PATH = '/var/lib/containers/storage';

/** Relabels `storeDir`; returns false when there is no policy (then no stamp is written). */
export type Relabeler = (storeDir: string) => Promise<boolean>;

/** True when an SELinux policy is loaded on this host. */
export function isSelinuxEnabled(): boolean {
  return existsSync('/sys/fs/selinux/enforce') && existsSync('/sys/fs/selinux/policy');
}

/**
 * Default relabeler: in a private mount namespace, bind the store over /var/lib/containers/storage and run
 * `restorecon -R` there, so every file gets the context its path would have under the canonical location.
 */
export const relabelWithRestorecon: Relabeler = async (storeDir) => {
  if (!isSelinuxEnabled()) return false;
  const restorecon = findExecutable('restorecon');
  const unshare = findExecutable('unshare');
  if (!restorecon || !unshare) {
    throw createError('ToolMissing', 'SELinux is enabled but restorecon or unshare is missing');
  }
  const script = `mount --bind -- . "$0" && exec "$1" -R -F -- "$0"`;
  const r = await runSupervised(
    unshare,
    ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, LABEL_AS_PATH, restorecon],
    { cwd: storeDir, stderrTailChars: 4096 },
  );
  if (r.spawnError) throw r.spawnError;
  if (r.exitCode !== 0) {
    throw createError('StorageFailure', `relabelling ${storeDir} failed`, {
      exitCode: r.exitCode,
      stderrTail: r.stderrTail,
    });
  }
  return true;
};

/** Labels the store once: skipped when the stamp exists; the stamp is written (and synced) only after success. */
export async function ensureLabeled(
  storeDir: string,
  relabel: Relabeler,
): Promise<'already' | 'labeled' | 'no-policy'> {
  const stamp = join(storeDir, LABELED_STAMP);
  if (existsSync(stamp)) return 'already';
  if (!(await relabel(storeDir))) return 'no-policy';
  syncPath(storeDir); // labels reach disk before the stamp claims they did
  closeSync(openSync(stamp, constants.O_WRONLY | constants.O_CREAT, 0o644));
  syncPath(stamp);
  syncPath(storeDir);
  return 'labeled';
}

/** fsync a file or directory by path. */
export function syncPath(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
