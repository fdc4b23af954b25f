// A store's own files: creating one the way upstream does (storage.tmp, initialized by podman, labelled,
// then renamed into place; an existing store is never re-initialized), and the change token that tells in
// microseconds whether anyone wrote to it since the last look.

import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureLabeled, type Relabeler } from './relabel.js';
import { assertSuccess, type RunInStoreResult } from './run-in-store.js';

/**
 * Creates the store at `storePath` when it is missing (labelling it), or labels an existing one that has no
 * stamp yet. `runInit(dir)` runs the first podman command against an empty root, which creates it.
 */
export async function initializeStore(
  storePath: string,
  relabel: Relabeler,
  log: Logger,
  runInit: (dir: string) => Promise<RunInStoreResult>,
): Promise<void> {
  if (existsSync(storePath)) {
    await ensureLabeled(storePath, relabel);
    return;
  }
  const tmp = `${storePath}.tmp`;
  await rm(tmp, { recursive: true, force: true }); // a stale one from an interrupted create
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    // containers-storage has no "init": the first command against an empty root creates it.
    assertSuccess(await runInit(tmp), 'initializing the store');
    await ensureLabeled(tmp, relabel);
    await rename(tmp, storePath);
    log.info({ store: storePath }, 'created image store');
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Where podman caches its automatic choice of network backend, in the graph root (c/common's libnetwork). */
export const NETWORK_BACKEND_FILE = 'defaultNetworkBackend';

/**
 * Drops podman's cached network-backend choice from the store. The store holds images only (no containers, no
 * networks), so the choice means nothing here, but it travels with the store across an OS update or rollback:
 * podman 5 writes "netavark", and podman 4.3 on a host without netavark then refuses every command ("could not
 * find netavark"). Without the file each podman chooses for its own host again, as on a fresh store.
 */
export function forgetNetworkBackend(storePath: string, log: Logger): void {
  const file = join(storePath, NETWORK_BACKEND_FILE);
  let choice: string;
  try {
    choice = readFileSync(file, 'utf8').trim().slice(0, 64);
  } catch {
    return; // none yet
  }
  rmSync(file, { force: true });
  log.info(
    { store: storePath, choice },
    "dropped podman's cached network backend (chosen again by this host's podman)",
  );
}

/** The store's image records' fingerprint: images.json's inode, time and size, and images.lock's token. */
export function readChangeToken(storePath: string): string {
  const dir = join(storePath, 'overlay-images');
  try {
    const st = statSync(join(dir, 'images.json'), { bigint: true });
    const fd = openSync(join(dir, 'images.lock'), constants.O_RDONLY);
    try {
      const buf = Buffer.alloc(64);
      const n = readSync(fd, buf, 0, 64, 0);
      return `${st.ino}:${st.mtimeNs}:${st.size}:${buf.subarray(0, n).toString('hex')}`;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'empty';
  }
}
