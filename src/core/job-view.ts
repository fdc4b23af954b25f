// What every transport publishes about a job, defined once: the projection of its fields (numbers safe for
// any wire: finite, non-negative integers for counts) and the throttle for progress updates, so D-Bus and
// Varlink show the same fields at the same pace.

import type { Job, JobSnapshot } from '../jobs/job.js';
import { PROGRESS_FIELD_NAMES } from '../jobs/job-fields.js';

/** Transports see jobs through the core. */
export type { Job, JobResultName } from '../jobs/job.js';

/** Progress updates reach a transport at most this often per job; state changes and the end never wait. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * The fields of a job as transports show them: the job's own snapshot shape, with wire-safe numbers, plus how
 * it ended (the catalogue name and message of its error; its result is projected per transport, job-wire.ts).
 */
export type JobView = JobSnapshot & { errorName: string; errorMessage: string; result?: unknown };

/** A count as every wire can carry it: a safe non-negative integer (0 for anything else). */
export function toCount(n: number): number {
  return Number.isFinite(n) ? Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(n))) : 0;
}

/** The job's current fields. */
export function viewJob<T>(job: Job<T>): JobView {
  return {
    id: job.id,
    kind: job.kind,
    target: job.target,
    state: job.state,
    progress: Number.isFinite(job.progress) ? job.progress : -1,
    bytesDone: toCount(job.bytesDone),
    bytesTotal: toCount(job.bytesTotal),
    layersDone: toCount(job.layersDone),
    layersTotal: toCount(job.layersTotal),
    attempt: Math.max(1, toCount(job.attempt)),
    itemsDone: toCount(job.itemsDone),
    itemsTotal: toCount(job.itemsTotal),
    item: job.item,
    owner: job.owner,
    errorName: job.error?.name ?? '',
    errorMessage: job.error?.message ?? '',
  };
}

/**
 * Calls `onUpdate(names)` for a job's changes: state and item changes at once, progress at most every
 * PROGRESS_INTERVAL_MS (with the names of the progress fields). Returns the function that stops watching.
 */
export function watchJob<T>(job: Job<T>, onUpdate: (changed: readonly string[]) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onChanged = (names: string[]) => {
    if (names.includes('state')) return onUpdate(names);
    // A new item (the next image of a sync) is a step, not a tick: a fast step must not vanish in the throttle.
    if (names.includes('item')) return onUpdate(PROGRESS_FIELDS);
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!job.finished) onUpdate(PROGRESS_FIELDS);
    }, PROGRESS_INTERVAL_MS);
  };
  job.on('changed', onChanged);
  return () => {
    job.off('changed', onChanged);
    if (timer) clearTimeout(timer);
  };
}

/** The job fields that change while it runs (the list's `progress` fields). */
export const PROGRESS_FIELDS: readonly string[] = PROGRESS_FIELD_NAMES;
