// The retry loop around one pull: how many attempts, how long between them, the deadline, cancel.

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { retryDelayMs, sleepUnlessAborted, withPullRetries } from '../../src/core/retry-pull.js';
import { createError, isStorageError } from '../../src/errors.js';

const log = pino({ level: 'silent' });
const transient = () =>
  createError('PullFailed', 'pulling x failed', {
    stderrTail: 'Error: reading manifest: received unexpected HTTP status: 503 Service Unavailable',
  });
const permanent = () =>
  createError('PullFailed', 'pulling x failed', { stderrTail: 'Error: reading manifest: unauthorized' });

function attempts(fail: (n: number) => Error | undefined) {
  const seen: { n: number; msLeft: number; at: number }[] = [];
  const fn = async (n: number, msLeft: number) => {
    seen.push({ n, msLeft, at: Date.now() });
    const err = fail(n);
    if (err) throw err;
    return `ok on ${n}`;
  };
  return { seen, fn };
}
const policy = (over: Partial<{ retries: number; baseDelayMs: number; deadline: number }> = {}) => ({
  retries: 3,
  baseDelayMs: 10,
  deadline: Date.now() + 60_000,
  ...over,
});
const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { details: Record<string, unknown> },
  );

describe('backoff', () => {
  it('doubles from the base, within ±20 %, capped at 60 s', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(1, 1000, () => 0)).toBe(800);
    expect(retryDelayMs(1, 1000, () => 1)).toBe(1200);
    expect(retryDelayMs(20, 1000, () => 0.5)).toBe(60_000);
  });

  it('ends the sleep at once on cancel, with Canceled', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 20);
    const err = await caught(sleepUnlessAborted(10_000, ac.signal));
    expect(err?.name).toBe('Canceled');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('withPullRetries', () => {
  it('retries transient failures until one attempt works', async () => {
    const { seen, fn } = attempts((n) => (n < 3 ? transient() : undefined));
    const signal = new AbortController().signal;
    expect(await withPullRetries(fn, { policy: policy(), signal, log, image: 'x' })).toBe('ok on 3');
    expect(seen.map((s) => s.n)).toEqual([1, 2, 3]);
    // 10 ms then 20 ms (±20 %) between attempts
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(7);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(15);
  });

  it('makes 1 + retries attempts at most, and says so in the final error', async () => {
    const { seen, fn } = attempts(() => transient());
    const signal = new AbortController().signal;
    const err = await caught(
      withPullRetries(fn, { policy: policy({ retries: 2 }), signal, log, image: 'x' }),
    );
    expect(seen).toHaveLength(3);
    expect(err?.name).toBe('PullFailed');
    expect(err?.message).toMatch(/\(3 attempts; no retries left\)$/);
    expect(err?.details.attempts).toBe(3);
    expect(err?.details.stderrTail).toContain('503');
  });

  it('never retries a permanent failure, and passes it on unchanged', async () => {
    const { seen, fn } = attempts(() => permanent());
    const signal = new AbortController().signal;
    const err = await caught(withPullRetries(fn, { policy: policy(), signal, log, image: 'x' }));
    expect(seen).toHaveLength(1);
    expect(err?.message).toBe('pulling x failed');
  });

  it('stops when a permanent failure follows transient ones', async () => {
    const { seen, fn } = attempts((n) => (n === 1 ? transient() : permanent()));
    const signal = new AbortController().signal;
    const err = await caught(withPullRetries(fn, { policy: policy(), signal, log, image: 'x' }));
    expect(seen).toHaveLength(2);
    expect(err?.message).toMatch(/\(2 attempts; unauthorized, not retried\)$/);
  });

  it('makes no retry that would start after the deadline, and hands each attempt the time left', async () => {
    const { seen, fn } = attempts(() => transient());
    const signal = new AbortController().signal;
    // Backoffs are 200 and 400 ms ±20 %: the second attempt starts by 240 ms, a third at 480 ms at the
    // earliest, so a 450 ms deadline allows exactly two whatever the jitter (500 did not: 160 + 320 < 500).
    const deadline = Date.now() + 450;
    const err = await caught(
      withPullRetries(fn, { policy: policy({ baseDelayMs: 200, deadline }), signal, log, image: 'x' }),
    );
    expect(seen).toHaveLength(2);
    expect(err?.message).toMatch(/time limit is reached\)$/);
    expect(seen[0]!.msLeft).toBeLessThanOrEqual(450);
    expect(seen[1]!.msLeft).toBeLessThan(seen[0]!.msLeft);
  });

  it('ends during the backoff on cancel, without another attempt', async () => {
    const ac = new AbortController();
    const { seen, fn } = attempts(() => {
      setTimeout(() => ac.abort(), 20);
      return transient();
    });
    const started = Date.now();
    const err = await caught(
      withPullRetries(fn, { policy: policy({ baseDelayMs: 10_000 }), signal: ac.signal, log, image: 'x' }),
    );
    expect(isStorageError(err, 'Canceled')).toBe(true);
    expect(seen).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not retry an attempt that failed because of a cancel', async () => {
    const ac = new AbortController();
    ac.abort();
    const { seen, fn } = attempts(() => transient());
    await caught(withPullRetries(fn, { policy: policy(), signal: ac.signal, log, image: 'x' }));
    expect(seen).toHaveLength(1);
  });
});
