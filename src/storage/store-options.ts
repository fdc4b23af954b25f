// What a Store is told when it is opened, and the shapes of a fetch: its options and result. (Whether a pull
// fetches at all, its policy, is the core's decision: core/pull-decision.ts.)

import type { Logger } from 'pino';
import type { PullProgressEvent } from './parse-pull-progress.js';
import type { Relabeler } from './relabel.js';
import type { CallOptions } from './removal.js';
import type { StoreLayout } from './store-location.js';

/**
 * A whole pull's time limit: generous, because a slow but moving transfer is fine (a registry that stops
 * answering is caught by the daemon's stall watchdog long before).
 */
export const DEFAULT_PULL_TIMEOUT_MS = 6 * 60 * 60_000;

export interface StoreOptions {
  /** The sysroot holding `ostree/bootc/storage`. */
  sysroot: string;
  /** The run directory: the runroot is `<run>/bootc/storage`; private state goes in `<run>/bootc-storaged`. */
  run: string;
  /** Where auth.json is looked for (`run/ostree`, `etc/ostree`, `usr/lib/ostree` below it); default sysroot. */
  authRoot?: string;
  /** Base environment for podman (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** podman binary name or path (default `podman` on PATH). */
  podman?: string;
  relabel?: Relabeler;
  logger?: Logger;
  /** ostree (`ostree/bootc`), composefs (`composefs/bootc` behind an `ostree/bootc` link), or auto-detect. */
  layout?: StoreLayout;
  /**
   * May read-only mounts be made writable here (a bind remount)? Only in a mount namespace of our own; the
   * default asks the launcher's marker (writable.ts).
   */
  ownNamespace?: boolean;
  /** Time limits in ms. */
  pullTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Read the image list from the store's records (image-records.ts) before asking podman; default true. */
  imageRecords?: boolean;
  writeTimeoutMs?: number;
  killGraceMs?: number;
  /** What pulls: `auto` (skopeo where it is the same pull as podman's, copy-pull.ts) or always `podman`. */
  copier?: 'auto' | 'podman';
}

export interface PullOptions extends CallOptions {
  onProgress?: ((event: PullProgressEvent) => void) | undefined;
  /** Directory podman stages blobs in (its TMPDIR) for this pull; its size is the bytes fetched so far. */
  tmpDir?: string | undefined;
  /** This pull's own time limit (what is left of a retried pull's overall one); default: the store's. */
  timeoutMs?: number | undefined;
}

/** What a fetch left in the store: the ID the reference names now (undefined if podman did not say). */
export interface FetchedImage {
  id: string | undefined;
}
