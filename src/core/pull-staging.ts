// Where pulls stage their files: a directory per pull beside the store (the same filesystem), and the wipe of
// what an earlier run left there. The wipe is one for every caller: at start-up the daemon opens the store
// while the call that activated it opens it too, and a second wipe still running would remove the directory
// the first caller's pull had just made (podman then fails: "stat …/storaged-tmp/pull-…: no such file").

import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class PullStaging {
  #wipe: Promise<void> | undefined;

  constructor(private readonly base: string) {}

  /**
   * Removes the leftovers, once: callers while it runs share it, later ones get its settled promise; after a
   * failure the next call tries again.
   */
  wipe(): Promise<void> {
    this.#wipe ??= (async () => {
      await rm(this.base, { recursive: true, force: true });
      mkdirSync(this.base, { recursive: true, mode: 0o700 });
    })().catch((err: unknown) => {
      this.#wipe = undefined;
      throw err;
    });
    return this.#wipe;
  }

  /** A fresh directory for one pull (its TMPDIR); the caller removes it when the pull ends. */
  async makeDir(): Promise<string> {
    mkdirSync(this.base, { recursive: true, mode: 0o700 });
    return mkdtemp(join(this.base, 'pull-'));
  }
}
