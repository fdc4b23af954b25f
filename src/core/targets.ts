// The lists a caller may pass (Remove's images, Prune's roots): bounded, and shown short.

import { createError } from '../errors.js';
import { MAX_LIST_ARGS } from '../storage/store.js';

/** A job's Target for a list: the first few entries, so ListJobs stays small whatever a caller sends. */
export function describeTargets(list: readonly string[]): string {
  const shown = list.slice(0, 8).join(' ');
  return list.length > 8 ? `${shown} (+${list.length - 8} more)` : shown;
}

/** Refuses an empty list or one over the hard cap, before anything is queued. */
export function checkListSize(list: readonly string[], what: string) {
  if (list.length === 0) throw createError('InvalidArgument', `no ${what} given`);
  if (list.length > MAX_LIST_ARGS)
    throw createError('InvalidArgument', `at most ${MAX_LIST_ARGS} ${what} per call`);
}
