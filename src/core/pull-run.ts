// One pull as a job runs it: podman's pull, plus what makes it observable, bounded and safe. The registry's
// size answer comes first: with it, a pull that cannot fit fails NoSpace before podman starts, and the
// totals are known from the first byte (with ample room, > 16 GiB past the reserve, the pull starts at once
// and the answer, checked as it comes, stops it instead). The staged bytes are measured, layers are counted from podman's
// progress lines, and a stall watchdog fails an attempt that stops moving. A transient failure is tried
// again (retry-pull.ts) from a fresh staging directory. The final figures are exact once the image is in.

import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createError } from '../errors.js';
import type { JobContext } from '../jobs/job.js';
import { assertSpaceFor, freeBytesAt, judgeSpace } from '../storage/free-space.js';
import { readStoredSize } from '../storage/manifest.js';
import type { ImageReference } from '../storage/reference.js';
import type { FetchedImage, RemoteSize, RemoteSizeAnswer, Store } from '../storage/store.js';
import { measureDirSize } from './dir-size.js';
import { withPullRetries } from './retry-pull.js';
import {
  DEFAULT_PULL_RETRIES,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_SPACE_RESERVE_BYTES,
  type PullSettings,
} from './service-options.js';

/** How often a running pull's staged bytes are measured. */
const BYTES_POLL_MS = 250;
/** How long a finished pull waits for the registry's size answer still in flight. */
const SIZE_GRACE_MS = 2000;
/**
 * Usable bytes (after the reserve) from which the pull need not wait for the size answer: the query answers
 * in tens of ms, and no registry fills this much room in that time.
 */
const AMPLE_ROOM_BYTES = 16 * 1024 ** 3;
/** Longest wait for the size answer before podman starts (a registry that slow is caught by the pull). */
const SIZE_QUERY_LIMIT_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export interface PullRunOptions extends PullSettings {
  /** Free space past the reserve from which the pull starts before the size answer; default 16 GiB. */
  ampleRoomBytes?: number;
  store: Store;
  ref: ImageReference;
  ctx: JobContext;
  /** podman's staging directory for this pull (its TMPDIR); its size is the bytes fetched so far. */
  tmpDir: string;
  /** No progress this long fails an attempt; 0 = never. */
  stallTimeoutMs: number;
  /** Ask the registry for the pull's total size (and so check the space for it). */
  progressTotals: boolean;
  /**
   * Whether the reference names an image in the store now (the core's view, pull-decision.ts): its re-pull
   * fetches only what changed, so it is not held to a space check.
   */
  present: boolean;
  /** The registry's size answer, already asked for (size-prefetch.ts); default: asked when the pull starts. */
  sizeAnswer?: Promise<RemoteSizeAnswer> | undefined;
  log: Logger;
}

/** What one attempt has seen; a retry starts from a new one. */
interface Attempt {
  n: number;
  layersStarted: number;
  bytesDone: number;
  /** What the store's partial-pull staging held when the attempt began (an admin's pull, a leftover). */
  stagedBefore: number;
  lastProgressAt: number;
  /**
   * Once the manifest is written, every blob is here and podman applies the layers to the store: local disk
   * work that prints nothing and stages nothing, however long it takes. The registry can no longer stall the
   * pull, so the watchdog stops (the whole-pull time limit still applies).
   */
  committing: boolean;
  stall: AbortController;
  stalled: boolean;
}

/**
 * Runs one fetch with size query, space check, progress, stall watchdog and retries; `run()` once. Whether to
 * fetch was decided before (pull-decision.ts); this only fetches, observably.
 */
export class PullRun {
  private layersTotal = 0;
  private bytesTotal = 0;
  private current: Attempt | undefined;
  /** Set once the pull ended: later measurements must not overwrite the final figures. */
  private settled = false;
  private readonly sizeAbort = new AbortController();
  /** Stops a pull whose size answer, checked beside it, says it cannot fit (then `noSpace` is the error). */
  private readonly spaceStop = new AbortController();
  private noSpace: unknown;
  private sized: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: PullRunOptions) {}

  async run(): Promise<FetchedImage> {
    const { store, ref, ctx, present } = this.o;
    const deadline = Date.now() + store.pullTimeoutMs;
    const timer = setInterval(() => this.tick(), BYTES_POLL_MS);
    // A cancel also ends the size query (a cancel that came before it started too).
    const onCancel = () => this.sizeAbort.abort();
    if (ctx.signal.aborted) onCancel();
    ctx.signal.addEventListener('abort', onCancel, { once: true });
    ctx.report({ attempt: 1 });
    try {
      if (this.o.progressTotals) {
        // With room to spare the answer is checked as it comes, beside the pull, which it stops if the
        // image cannot fit (long before it could fill that room); else the pull waits for the check.
        const early = !present && this.hasAmpleRoom();
        const size = this.startSizing(present);
        // An image already here is mostly here: its re-pull (always, newer) fetches what changed, unchecked.
        if (early) void size.then((answer) => this.checkSpaceBeside(answer));
        else if (!present) this.checkSpace(await size);
      }
      if (ctx.signal.aborted) throw createError('Canceled', 'canceled before podman started');
      const result = await withPullRetries((n, msLeft) => this.attempt(n, msLeft), {
        policy: {
          retries: this.o.pullRetries ?? DEFAULT_PULL_RETRIES,
          baseDelayMs: this.o.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
          deadline,
        },
        signal: ctx.signal,
        log: this.o.log,
        image: ref.canonical,
      });
      // Final figures: from the manifest the store now holds (exact, at once); else a small image that
      // landed before the size answer gives that answer a moment.
      const stored =
        this.o.progressTotals && result.id ? readStoredSize(store.storePath, result.id) : undefined;
      if (stored) {
        this.bytesTotal = stored.bytes;
        this.layersTotal = stored.layers;
      } else await Promise.race([this.sized, sleep(SIZE_GRACE_MS)]);
      this.settled = true;
      if (this.bytesTotal > 0) ctx.report({ bytesDone: this.bytesTotal, bytesTotal: this.bytesTotal });
      if (this.layersTotal > 0) ctx.report({ layersDone: this.layersTotal });
      return result;
    } finally {
      this.settled = true;
      clearInterval(timer);
      this.sizeAbort.abort();
      ctx.signal.removeEventListener('abort', onCancel);
    }
  }

  /** One podman pull, from an empty staging directory, with what is left of the time limit. */
  private async attempt(n: number, msLeft: number): Promise<FetchedImage> {
    const { store, ref, ctx, tmpDir } = this.o;
    if (n > 1) {
      // What the failed attempt staged is gone or useless: podman fetches it again, so count from zero.
      await rm(tmpDir, { recursive: true, force: true });
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    }
    const a: Attempt = {
      n,
      layersStarted: 0,
      bytesDone: 0,
      stagedBefore: await measureDirSize(store.partialStagingDir),
      lastProgressAt: Date.now(),
      committing: false,
      stall: new AbortController(),
      stalled: false,
    };
    this.current = a;
    ctx.report({
      attempt: n,
      bytesDone: 0,
      bytesTotal: this.bytesTotal,
      layersDone: 0,
      layersTotal: this.layersTotal,
      progress: this.bytesTotal > 0 ? 0 : -1,
    });
    try {
      return await store.pull(ref, {
        // One signal per cause that ends podman: the job's cancel, this attempt's stall, no space.
        signal: AbortSignal.any([ctx.signal, a.stall.signal, this.spaceStop.signal]),
        tmpDir,
        timeoutMs: Math.max(1, msLeft),
        onProgress: (e) => {
          a.lastProgressAt = Date.now();
          if (e.phase === 'writing-manifest' || e.phase === 'storing-signatures') a.committing = true;
          if (e.phase === 'copying-blob') a.layersStarted += 1;
          void this.update();
        },
      });
    } catch (err) {
      if (this.noSpace && !ctx.signal.aborted) throw this.noSpace;
      if (!a.stalled || ctx.signal.aborted) throw err;
      throw createError(
        'PullFailed',
        `pulling ${ref.canonical} made no progress for ${Math.round(this.o.stallTimeoutMs / 1000)} s; the registry stopped answering`,
        { reason: 'stalled', image: ref.canonical },
        err,
      );
    } finally {
      this.current = undefined;
    }
  }

  /** Free space far beyond the reserve: nothing a pull fetches in the size query's round trip can exhaust it. */
  private hasAmpleRoom(): boolean {
    try {
      const reserve = this.o.spaceReserveBytes ?? DEFAULT_SPACE_RESERVE_BYTES;
      return freeBytesAt(this.o.store.storePath) - reserve >= (this.o.ampleRoomBytes ?? AMPLE_ROOM_BYTES);
    } catch {
      return false;
    }
  }

  /** The space check of a pull already running: a pull that cannot fit is stopped and fails NoSpace. */
  private checkSpaceBeside(size: RemoteSize | undefined): void {
    if (this.settled) return;
    try {
      this.checkSpace(size);
    } catch (err) {
      this.noSpace = err;
      this.spaceStop.abort();
    }
  }

  /** Fails with NoSpace when the registry's size says the pull cannot fit; no answer, no check (logged). */
  private checkSpace(size: RemoteSize | undefined): void {
    const image = this.o.ref.canonical;
    if (!size) {
      this.o.log.info({ image }, 'no size from the registry: pulling without a space check');
      return;
    }
    const reserve = this.o.spaceReserveBytes ?? DEFAULT_SPACE_RESERVE_BYTES;
    const verdict = judgeSpace(this.o.store.storePath, size.bytes, reserve);
    this.o.log.debug({ image, ...verdict }, 'space check');
    assertSpaceFor(image, verdict);
  }

  private measuring = false;
  private measureAgain = false;

  /** Every poll: measure, and cancel podman when nothing moved for the stall limit (and say so). */
  private tick(): void {
    const a = this.current;
    if (!a) return;
    void this.update();
    const watching = this.o.stallTimeoutMs > 0 && !a.committing;
    if (watching && Date.now() - a.lastProgressAt > this.o.stallTimeoutMs && !a.stalled) {
      a.stalled = true;
      a.stall.abort();
    }
  }

  /**
   * Measures the staged bytes and reports the job's progress (only for the attempt still running): the blobs
   * in the pull's TMPDIR, plus what a partial pull wrote into the store's staging since the attempt began.
   */
  private async update(): Promise<void> {
    // One measurement at a time (a partial pull's staging can hold thousands of files): a call while one runs
    // asks for one more after it, so what it was called for (a layer started, the size known) is reported.
    if (this.measuring) {
      this.measureAgain = true;
      return;
    }
    this.measuring = true;
    try {
      await this.measure();
    } finally {
      this.measuring = false;
    }
    if (this.measureAgain) {
      this.measureAgain = false;
      await this.update();
    }
  }

  private async measure(): Promise<void> {
    const a = this.current;
    if (!a) return;
    const [blobs, staging] = await Promise.all([
      measureDirSize(this.o.tmpDir),
      measureDirSize(this.o.store.partialStagingDir),
    ]);
    const measured = blobs + Math.max(0, staging - a.stagedBefore);
    if (this.settled || this.current !== a) return;
    if (measured > a.bytesDone) a.lastProgressAt = Date.now();
    a.bytesDone = Math.max(a.bytesDone, measured);
    const progress =
      this.bytesTotal > 0
        ? Math.min(0.99, a.bytesDone / this.bytesTotal)
        : this.layersTotal > 0
          ? Math.min(0.99, a.layersStarted / (this.layersTotal + 1))
          : -1;
    this.o.ctx.report({
      bytesDone: a.bytesDone,
      bytesTotal: this.bytesTotal,
      progress,
      layersDone: a.layersStarted,
      layersTotal: this.layersTotal,
    });
  }

  /** Asks the registry for the size, once per job, bounded by the stall limit; settles to undefined on failure. */
  private startSizing(beside: boolean): Promise<RemoteSize | undefined> {
    const limit =
      this.o.stallTimeoutMs > 0 ? Math.min(this.o.stallTimeoutMs, SIZE_QUERY_LIMIT_MS) : SIZE_QUERY_LIMIT_MS;
    // Ended by a cancel or the pull's end (sizeAbort), or by its own time limit.
    const signal = AbortSignal.any([this.sizeAbort.signal, AbortSignal.timeout(limit)]);
    if (signal.aborted) {
      this.sized = Promise.resolve(undefined);
      return Promise.resolve(undefined);
    }
    const asked = this.o.sizeAnswer ?? this.o.store.remoteSize(this.o.ref.canonical, { signal, beside });
    // A prefetched answer still in flight: a cancel or the limit must not wait for it either.
    const bounded = new Promise<RemoteSizeAnswer>((resolve, reject) => {
      asked.then(resolve, reject);
      signal.addEventListener('abort', () => resolve({ size: undefined, reason: 'size query stopped' }), {
        once: true,
      });
    });
    const sized = bounded
      .then((answer) => {
        if (!answer.size) {
          this.o.log.info({ image: this.o.ref.canonical, reason: answer.reason }, 'remote size unavailable');
          return undefined;
        }
        this.bytesTotal = answer.size.bytes;
        this.layersTotal = answer.size.layers;
        void this.update();
        return answer.size;
      })
      .catch((err: unknown) => {
        this.o.log.info({ image: this.o.ref.canonical, err: String(err) }, 'remote size unavailable');
        return undefined;
      });
    this.sized = sized;
    return sized;
  }
}
