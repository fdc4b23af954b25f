// Whether a pull must fetch, decided once, here, from the daemon's exact view of the store: `missing` and the
// reference names an image, or a digest the store has (immutable content, whatever the policy), is answered
// with no process, no registry and no staging. Everything else fetches; the engine (Store.pull) then only
// pulls, and PullRun only runs the attempts and reports progress. `newer` compares the ID before with the ID
// after.

import { createError } from '../errors.js';
import type { ImageEntry } from '../storage/parse-image-list.js';
import type { ImageReference } from '../storage/reference.js';
import type { ImageView } from './image-view.js';

export const PULL_POLICIES = ['missing', 'always', 'newer'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** What a pull answers: whether it fetched (for `newer`: whether the reference now names another image). */
export interface PullResult {
  fetched: boolean;
  id: string | undefined;
}

/** Validates a pull policy string (at the boundary, once). */
export function parsePullPolicy(policy: string): PullPolicy {
  if (!(PULL_POLICIES as readonly string[]).includes(policy)) {
    throw createError(
      'InvalidArgument',
      `unknown pull policy ${JSON.stringify(String(policy).slice(0, 40))}`,
      { expected: PULL_POLICIES },
    );
  }
  return policy as PullPolicy;
}

/** Answer now, or fetch knowing what the reference names before (its ID, or undefined). */
export type PullDecision = { answer: PullResult } | { fetch: { before: string | undefined } };

/**
 * The decision against the daemon's view, as a job makes it (in queue order): `missing`, `newer` and digests
 * need the view exact (re-listed if the store moved); for `always` a stale view only means "absent" (it
 * fetches either way; presence only spares a space check).
 */
export async function decideFromView(
  view: ImageView,
  ref: ImageReference,
  policy: PullPolicy,
): Promise<PullDecision & { current: ImageEntry | undefined }> {
  const exact = policy !== 'always' || ref.digest !== undefined;
  const current = exact ? await view.find(ref) : view.peek(ref)?.image;
  return { ...decidePull(ref, policy, current), current };
}

/** Decides a pull from what the reference names in the store now (`current`, from the view). */
export function decidePull(
  ref: ImageReference,
  policy: PullPolicy,
  current: ImageEntry | undefined,
): PullDecision {
  if (current && (policy === 'missing' || ref.digest !== undefined))
    return { answer: { fetched: false, id: undefined } };
  return { fetch: { before: current?.id } };
}

/** A fetched pull's answer: `newer` says whether the ID changed; the others fetched. */
export function fetchedResult(
  policy: PullPolicy,
  before: string | undefined,
  id: string | undefined,
): PullResult {
  return { fetched: policy === 'newer' ? before !== id : true, id };
}
