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
 * What polkit agents show for a call ($(image) in the policy's messages): the normalized reference, parsed
 * first, so a password dialog never shows a caller's raw string and invalid input never prompts at all. For
 * lists the first eight and how many more, never a silently cut list. Prune's list names images to KEEP.
 * The same for every transport.
 */
export function polkitDetails(method: string, firstArg: unknown): Record<string, string> {
  const shown = (list: string[]) =>
    list.slice(0, 8).map(canonicalTarget).join(' ') + (list.length > 8 ? ` (+${list.length - 8} more)` : '');
  if (
    typeof firstArg === 'string' &&
    (method === 'Pull' || method === 'PullFromHost' || method === 'Exists')
  ) {
    return { image: canonicalImage(firstArg) };
  }
  if (method === 'Remove' && Array.isArray(firstArg)) return { image: shown(firstArg as string[]) };
  if (method === 'Prune' && Array.isArray(firstArg)) return { roots: shown(firstArg as string[]) };
  return {};
}
