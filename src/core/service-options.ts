// What a StorageService can be told, and the defaults it uses otherwise.

import type { Logger } from 'pino';

export interface StorageServiceOptions {
  maxQueued?: number;
  logger?: Logger;
  /** A pull that shows no progress (no staged bytes, no podman progress line) this long fails; 0 = never. */
  stallTimeoutMs?: number;
  /**
   * Ask the registry for each pull's total size (one extra manifest GET, which rate-limited registries such
   * as Docker Hub count; ~4 % slower on a 200 MB pull from localhost, measured). Default true.
   */
  progressTotals?: boolean;
  /** How long GarbageCollect waits for the ostree sysroot lock (bootc/ostree deploying) before SysrootLocked. */
  lockTimeoutMs?: number;
}

/** Default wait for the sysroot lock: bootc holds it across a whole upgrade (pull and deploy). */
export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;

/** Default stall limit: a registry that accepts connections but sends nothing must not hold the queue. */
export const DEFAULT_STALL_TIMEOUT_MS = 300_000;
