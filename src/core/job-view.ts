// What every transport publishes about a job, defined once: the projection of its fields (numbers safe for
// any wire: finite, non-negative integers for counts) and the throttle for progress updates, so D-Bus and
// Varlink show the same fields at the same pace.

import type { Job, JobSnapshot } from '../jobs/job.js';
import { JOB_FIELDS, PROGRESS_FIELD_NAMES } from '../jobs/job-fields.js';

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

/** The snapshot's integer fields (D-Bus u and t), from the one list: each becomes a wire-safe count. */
const INTEGER_FIELD_NAMES: readonly string[] = JOB_FIELDS.flatMap((f) =>
  !('end' in f) && (f.type.dbus === 'u' || f.type.dbus === 't') ? [f.name] : [],
);

/** The job's current fields: its snapshot (the list's fields), with numbers every wire can carry. */
export function viewJob<T>(job: Job<T>): JobView {
  const view: Record<string, unknown> = job.snapshot();
  for (const name of INTEGER_FIELD_NAMES) view[name] = toCount(view[name] as number);
  const v = view as JobSnapshot;
  v.progress = Number.isFinite(v.progress) ? v.progress : -1; // -1: unknown
  v.attempt = Math.max(1, v.attempt); // a job that has not started its first try is on it
  return { ...v, errorName: job.error?.name ?? '', errorMessage: job.error?.message ?? '' };
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
