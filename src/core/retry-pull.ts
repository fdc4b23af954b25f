// Tries a pull again after a transient failure (storage/transient-failure.ts says which), with exponential
// backoff, a bounded number of times, and never past the pull's overall deadline: a retry that could only
// start after it is not made. A cancel ends the backoff sleep at once. podman 4.3 already retries inside
// one attempt (libimage: 3 more tries 1 s apart for refused/reset connections and 429s with an error body;
// c/image: 5 tries for a 429, waiting as its Retry-After says, seconds or HTTP date): these retries come on
// top, for what podman gives up on (a 5xx is never retried by podman itself, measured).

import type { Logger } from 'pino';
import { createError, isStorageError } from '../errors.js';
import { classifyPullFailure } from '../storage/transient-failure.js';

/** Longest wait between two attempts (c/image caps its own 429 backoff at the same 60 s). */
export const MAX_RETRY_DELAY_MS = 60_000;

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Delay before the first retry; doubled before each later one. */
  baseDelayMs: number;
  /** Epoch ms after which no attempt may start. */
  deadline: number;
}

/** The wait before retry `n` (1-based): base × 2^(n−1), capped, with ±20 % jitter so clients spread out. */
export function retryDelayMs(n: number, baseDelayMs: number, random: () => number = Math.random): number {
  const raw = Math.min(MAX_RETRY_DELAY_MS, baseDelayMs * 2 ** (n - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** Sleeps `ms`, or less when `signal` aborts (then throws Canceled); the timer never holds the process. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const canceled = () => reject(createError('Canceled', 'canceled while waiting to retry the pull'));
    if (signal.aborted) return canceled();
    const onAbort = () => {
      clearTimeout(timer);
      canceled();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt(n, msLeft)` for n = 1, 2, … until it succeeds, fails permanently, runs out of retries or
 * would start past the deadline. The final error is the last attempt's, noting how many were made.
 */
export async function withPullRetries<T>(
  attempt: (n: number, msLeft: number) => Promise<T>,
  o: { policy: RetryPolicy; signal: AbortSignal; log: Logger; image: string },
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n, o.policy.deadline - Date.now());
    } catch (err) {
      if (o.signal.aborted) throw err;
      const verdict = classifyPullFailure(err);
      if (!verdict.transient) throw n === 1 ? err : noted(err, n, `${verdict.reason}, not retried`);
      if (n > o.policy.retries) throw noted(err, n, 'no retries left');
      const delayMs = retryDelayMs(n, o.policy.baseDelayMs);
      if (Date.now() + delayMs >= o.policy.deadline) throw noted(err, n, "the pull's time limit is reached");
      // The message is podman's last line (registry text, escaped); credentials never reach podman's stderr.
      o.log.warn(
        { image: o.image, attempt: n, nextAttempt: n + 1, delayMs, reason: verdict.reason, err: String(err) },
        'pull failed transiently; retrying',
      );
      await sleepUnlessAborted(delayMs, o.signal);
    }
  }
}

/** The last attempt's error, saying how many attempts were made and why they stopped. */
function noted(err: unknown, attempts: number, why: string): unknown {
  if (!isStorageError(err)) return err;
  return createError(
    err.name,
    `${err.message} (${attempts} attempts; ${why})`,
    { ...err.details, attempts },
    err,
  );
}
