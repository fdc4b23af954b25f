// One pull as a job runs it: podman's pull, plus what makes it observable and bounded. The staged bytes are
// measured, layers are counted from podman's progress lines, and the registry's size answer (asked once podman
// really pulls) sharpens the totals. A stall watchdog fails a pull that stops moving. The final figures are
// exact once the image is in.

import type { Logger } from 'pino';
import { createError } from '../errors.js';
import type { JobContext } from '../jobs/job.js';
import type { ImageReference } from '../storage/reference.js';
import type { PullPolicy, PullResult, Store } from '../storage/store.js';
import { measureDirSize } from './dir-size.js';

/** How often a running pull's staged bytes are measured. */
const BYTES_POLL_MS = 250;
/** How long a finished pull waits for the registry's size answer still in flight. */
const SIZE_GRACE_MS = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export interface PullRunOptions {
  store: Store;
  ref: ImageReference;
  policy: PullPolicy;
  ctx: JobContext;
  /** podman's staging directory for this pull (its TMPDIR); its size is the bytes fetched so far. */
  tmpDir: string;
  /** No progress this long fails the pull; 0 = never. */
  stallTimeoutMs: number;
  /** Ask the registry for the pull's total size. */
  progressTotals: boolean;
  log: Logger;
}

/** Runs one pull with progress, size query and stall watchdog; `run()` once. */
export class PullRun {
  private layersStarted = 0;
  private layersTotal = 0;
  private bytesTotal = 0;
  private bytesDone = 0;
  /** Set once the pull ended: later measurements must not overwrite the final figures. */
  private settled = false;
  private lastProgressAt = Date.now();
  /**
   * Once the manifest is written, every blob is here and podman applies the layers to the store: local disk
   * work that prints nothing and stages nothing, however long it takes. The registry can no longer stall the
   * pull, so the watchdog stops (the whole-pull time limit still applies).
   */
  private committing = false;
  private readonly stall = new AbortController();
  private stalled = false;
  private readonly sizeAbort = new AbortController();
  private sized: Promise<unknown> = Promise.resolve();
  private sizing = false;

  constructor(private readonly o: PullRunOptions) {}

  async run(): Promise<PullResult> {
    const { store, ref, ctx } = this.o;
    const timer = setInterval(() => this.tick(), BYTES_POLL_MS);
    const onCancel = () => this.sizeAbort.abort();
    ctx.signal.addEventListener('abort', onCancel, { once: true });
    try {
      const result = await store
        .pull(ref.canonical, this.o.policy, {
          signal: AbortSignal.any([ctx.signal, this.stall.signal]),
          tmpDir: this.o.tmpDir,
          onProgress: (e) => {
            this.lastProgressAt = Date.now();
            if (e.phase === 'writing-manifest' || e.phase === 'storing-signatures') this.committing = true;
            this.startSizing();
            if (e.phase === 'copying-blob') this.layersStarted += 1;
            void this.update();
          },
        })
        .catch((err: unknown) => {
          if (!this.stalled || ctx.signal.aborted) throw err;
          throw createError(
            'PullFailed',
            `pulling ${ref.canonical} made no progress for ${Math.round(this.o.stallTimeoutMs / 1000)} s; the registry stopped answering`,
            { reason: 'stalled', image: ref.canonical },
            err,
          );
        });
      // A small image can land before the size answer: give it a moment so the final figures are exact.
      if (result.fetched) await Promise.race([this.sized, sleep(SIZE_GRACE_MS)]);
      this.settled = true;
      if (result.fetched && this.bytesTotal > 0) {
        ctx.report({ bytesDone: this.bytesTotal, bytesTotal: this.bytesTotal });
      }
      if (result.fetched && this.layersTotal > 0) ctx.report({ layersDone: this.layersTotal });
      return result;
    } finally {
      this.settled = true;
      clearInterval(timer);
      this.sizeAbort.abort();
      ctx.signal.removeEventListener('abort', onCancel);
    }
  }

  /** Every poll: measure, and cancel podman when nothing moved for the stall limit (and say so). */
  private tick(): void {
    void this.update();
    const watching = this.o.stallTimeoutMs > 0 && !this.committing;
    if (watching && Date.now() - this.lastProgressAt > this.o.stallTimeoutMs && !this.stalled) {
      this.stalled = true;
      this.stall.abort();
    }
  }

  /** Measures the staged bytes and reports the job's progress. */
  private async update(): Promise<void> {
    const measured = await measureDirSize(this.o.tmpDir);
    if (this.settled) return;
    if (measured > this.bytesDone) this.lastProgressAt = Date.now();
    this.bytesDone = Math.max(this.bytesDone, measured);
    const progress =
      this.bytesTotal > 0
        ? Math.min(0.99, this.bytesDone / this.bytesTotal)
        : this.layersTotal > 0
          ? Math.min(0.99, this.layersStarted / (this.layersTotal + 1))
          : -1;
    this.o.ctx.report({
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      progress,
      layersDone: this.layersStarted,
      layersTotal: this.layersTotal,
    });
  }

  /** Asks the registry for the size once podman really pulls (a present `missing` image never gets here). */
  private startSizing(): void {
    if (this.sizing || !this.o.progressTotals) return;
    this.sizing = true;
    this.sized = this.o.store
      .remoteSize(this.o.ref.canonical, { signal: this.sizeAbort.signal })
      .then((size) => {
        if (!size) return;
        this.bytesTotal = size.bytes;
        this.layersTotal = size.layers;
        return this.update();
      })
      .catch((err: unknown) => this.o.log.debug({ err: String(err) }, 'remote size unavailable'));
  }
}
