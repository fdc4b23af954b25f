// What a StorageService can be told, and the defaults it uses otherwise.

import type { Logger } from 'pino';

export interface StorageServiceOptions {
  maxQueued?: number;
  logger?: Logger;
  /** A pull that shows no progress (no staged bytes, no podman progress line) this long fails; 0 = never. */
  stallTimeoutMs?: number;
  /**
   * Ask the registry for each pull's total size (one extra manifest GET, which rate-limited registries such
   * as Docker Hub count; ~4 % slower on a 200 MB pull from localhost, measured). Default true. The space
   * check needs that answer: without it, pulls are not checked for space either.
   */
  progressTotals?: boolean;
  /** How long GarbageCollect waits for the ostree sysroot lock (bootc/ostree deploying) before SysrootLocked. */
  lockTimeoutMs?: number;
  /**
   * How many times a pull that failed transiently (connection refused or reset, a timeout, a stall, HTTP 5xx
   * or 429) is tried again; never past the pull's overall time limit. Default 3 (so up to 4 attempts).
   */
  pullRetries?: number;
  /** The first retry's delay; each later one doubles it (capped at 60 s), ±20 % jitter. Default 1000. */
  retryBaseDelayMs?: number;
  /**
   * Bytes a pull must leave free on the store's file system: a pull whose lower-bound need (free-space.ts)
   * would eat into them fails with NoSpace before podman starts. Default 1 GiB; 0 checks for bare fit.
   */
  spaceReserveBytes?: number;
  /** How long an ended job stays readable (its object, State, Result, ErrorName); default 60 s. */
  jobRetentionMs?: number;
}

/** Default wait for the sysroot lock: bootc holds it across a whole upgrade (pull and deploy). */
export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;

/** Default stall limit: a registry that accepts connections but sends nothing must not hold the queue. */
export const DEFAULT_STALL_TIMEOUT_MS = 300_000;

/** The options a pull job takes from the service (pull-run.ts); pass them through unchanged. */
export type PullSettings = Pick<
  StorageServiceOptions,
  'pullRetries' | 'retryBaseDelayMs' | 'spaceReserveBytes'
>;

/** Default retries: a registry blip or a restart behind a load balancer is over in seconds. */
export const DEFAULT_PULL_RETRIES = 3;

/** Default first retry delay (then 2 s, 4 s): what podman's own libimage retry waits between its tries. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 1000;

/**
 * Default reserve: the store shares its file system with the ostree repository, the deployments and /var.
 * An upgrade (bootc writing the next deployment's objects), the journal and the host's own services need
 * room there, and XFS (the Fedora/CentOS default) has no root-reserved blocks to fall back on: a bound
 * image must never take the last space. 1 GiB covers a typical OS update's new objects and stays small
 * beside the tens of GB a bootc host has; set 0 on a dedicated store file system.
 */
export const DEFAULT_SPACE_RESERVE_BYTES = 1024 * 1024 * 1024;
