// The lists a caller may pass (Remove's images, Prune's roots): bounded, and shown short.

import { createError } from '../errors.js';
import { MAX_REFERENCE_LENGTH, parseImageTarget, parseReference } from '../storage/reference.js';
import { MAX_LIST_ARGS } from '../storage/removal.js';

/** The hard caps a transport checks before anything reaches the core (message sizes, schemas). */
export { MAX_LIST_ARGS, MAX_REFERENCE_LENGTH };

/** A reference as polkit agents show it: normalized (throws InvalidReference for a bad one). */
export function canonicalImage(input: string): string {
  return parseReference(input).canonical;
}

/** A Remove entry as polkit shows it: the normalized reference or the image ID. */
export function canonicalTarget(input: string): string {
  const target = parseImageTarget(input);
  return target.kind === 'id' ? target.id : target.ref.canonical;
}

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

/**
 * A list as polkit agents show it ($(image) or $(roots) in the policy's messages): each entry normalized,
 * parsed first, so a password dialog never shows a caller's raw string and invalid input never prompts at
 * all; the first eight and how many more, never a silently cut list.
 */
export function shownTargets(list: readonly string[], referencesOnly = false): string {
  const canon = referencesOnly ? canonicalImage : canonicalTarget;
  return list.slice(0, 8).map(canon).join(' ') + (list.length > 8 ? ` (+${list.length - 8} more)` : '');
}
