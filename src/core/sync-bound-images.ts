// The work of a `sync` job: pull every bound image of a deployment (or of all) that the store lacks, one after
// another, each once however many deployments bind it, with the job showing which image it is on and how far
// it got overall. The store, the listing and the pull itself are injected, so the order, the progress and
// cancellation are testable without podman; the service passes a pull that runs PullRun.

import { createError, toStorageError } from '../errors.js';
import type { JobContext, JobSnapshot, ProgressFields } from '../jobs/job.js';

type MaybePromise<T> = T | Promise<T>;

/** One binding: an image (canonical reference) and the `<checksum>.<serial>` of a deployment that binds it. */
export interface BoundRef {
  image: string;
  deployment: string;
}

/** What a sync needs; every list is read when the job runs, so it sees the deployments and store of that moment. */
export interface SyncBoundOptions {
  /** `<checksum>.<serial>` of one deployment; '' for every deployment. */
  deployment: string;
  /** Every deployment's name (tells an unknown deployment from one that binds nothing). */
  listDeployments: () => MaybePromise<readonly string[]>;
  /** Every binding of every deployment, in the order to pull (listBoundImages gives boot order). */
  listBound: () => MaybePromise<readonly BoundRef[]>;
  /** Whether the store already has an image (createPresenceCheck over a fresh listing). */
  isPresent: (image: string) => MaybePromise<boolean>;
  /**
   * Pulls one image. `progress` is a JobContext for this image alone: its `progress` (0–1) is scaled into the
   * job's overall progress; bytes, layers and attempt pass through. Rejects on failure or once `signal` aborts.
   * A result with `fetched: false` (already there after all) is not counted as pulled.
   */
  pullOne: (
    image: string,
    progress: JobContext,
    signal: AbortSignal,
  ) => Promise<{ fetched?: boolean } | undefined>;
}

/** The per-item fields the sync owns; a pull's own report cannot change them. */
const ITEM_FIELDS = new Set<ProgressFields>(['item', 'itemsDone', 'itemsTotal']);

/**
 * Pulls the missing bound images of `opts.deployment` ('' = all), in listing order, reporting `item`,
 * `itemsDone`/`itemsTotal` and `progress` = (images done + the current image's fraction) / images to pull.
 * Returns the images it pulled. Throws NotFound for an unknown deployment (nothing pulled), Canceled between
 * pulls once `ctx.signal` aborts; a failed pull ends the sync with that error, naming what was pulled before.
 */
export async function syncBoundImages(opts: SyncBoundOptions, ctx: JobContext): Promise<string[]> {
  const { signal } = ctx;
  if (opts.deployment !== '' && !(await opts.listDeployments()).includes(opts.deployment)) {
    throw createError('NotFound', `no deployment ${JSON.stringify(opts.deployment)}`, {
      input: opts.deployment,
    });
  }
  const wanted: string[] = [];
  for (const b of await opts.listBound()) {
    if (opts.deployment !== '' && b.deployment !== opts.deployment) continue;
    if (!wanted.includes(b.image)) wanted.push(b.image);
  }
  const missing: string[] = [];
  for (const image of wanted) if (!(await opts.isPresent(image))) missing.push(image);

  const total = missing.length;
  ctx.report({ itemsTotal: total, itemsDone: 0, item: '', progress: total === 0 ? 1 : 0 });
  const pulled: string[] = [];
  for (const [i, image] of missing.entries()) {
    if (signal.aborted) throw canceled(pulled, total);
    ctx.report({
      item: image,
      itemsDone: i,
      progress: i / total,
      bytesDone: 0,
      bytesTotal: 0,
      layersDone: 0,
      layersTotal: 0,
      attempt: 1,
    });
    let result: Awaited<ReturnType<SyncBoundOptions['pullOne']>>;
    try {
      result = await opts.pullOne(image, itemContext(ctx, i, total), signal);
    } catch (err) {
      if (signal.aborted) throw err; // the job reports Canceled
      throw describeFailure(err, image, pulled, i, total);
    }
    if (result?.fetched !== false) pulled.push(image);
    ctx.report({ itemsDone: i + 1, progress: (i + 1) / total });
  }
  ctx.report({ item: '' });
  return pulled;
}

/** A JobContext for item `i` of `total`: its progress scaled into the job's, never moving backwards. */
function itemContext(ctx: JobContext, i: number, total: number): JobContext {
  let overall = i / total;
  return {
    signal: ctx.signal,
    setWaiting: (waiting) => ctx.setWaiting(waiting),
    report(update) {
      const passed: Partial<Pick<JobSnapshot, ProgressFields>> = {};
      for (const [k, v] of Object.entries(update) as [ProgressFields, never][]) {
        if (!ITEM_FIELDS.has(k) && k !== 'progress') passed[k] = v;
      }
      const p = update.progress;
      if (typeof p === 'number' && Number.isFinite(p) && p >= 0) {
        overall = Math.max(overall, (i + Math.min(1, p)) / total);
        passed.progress = overall;
      }
      ctx.report(passed);
    },
  };
}

function canceled(pulled: readonly string[], total: number) {
  return createError('Canceled', `bound-image sync canceled after ${pulled.length} of ${total} images`, {
    pulled,
  });
}

/** The pull's own error, saying which image failed and what the sync had pulled before it. */
function describeFailure(err: unknown, image: string, pulled: readonly string[], i: number, total: number) {
  const e = toStorageError(err, 'PullFailed');
  e.details.image ??= image;
  e.details.pulled = [...pulled];
  const before = pulled.length > 0 ? `pulled before it: ${pulled.join(' ')}` : 'nothing was pulled before it';
  e.message += ` (bound-image sync: ${image} failed, image ${i + 1} of ${total}; ${before})`;
  return e;
}
