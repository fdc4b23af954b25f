// The one full collection after start-up (src/process/compact-heap.ts): run once at rest (after any work that
// is under way then), and nothing at all under a node without --expose-gc.

import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { compactHeapWhenIdle } from '../../src/process/compact-heap.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it('collects once, after the delay, when the daemon is at rest', () => {
  const collect = vi.fn();
  const report = vi.fn();
  compactHeapWhenIdle(() => false, report, 1000, collect);
  vi.advanceTimersByTime(999);
  expect(collect).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(collect).toHaveBeenCalledTimes(1);
  expect(report).toHaveBeenCalledWith(expect.any(Number), expect.any(Number));
  vi.advanceTimersByTime(60_000);
  expect(collect).toHaveBeenCalledTimes(1);
});

it('waits while work is under way, then collects once at rest', () => {
  const collect = vi.fn();
  let working = true;
  const busy = vi.fn(() => working);
  compactHeapWhenIdle(busy, undefined, 1000, collect);
  vi.advanceTimersByTime(5000);
  expect(busy).toHaveBeenCalledTimes(5);
  expect(collect).not.toHaveBeenCalled();
  working = false;
  vi.advanceTimersByTime(1000);
  expect(collect).toHaveBeenCalledTimes(1);
  vi.advanceTimersByTime(60_000);
  expect(collect).toHaveBeenCalledTimes(1);
  expect(vi.getTimerCount()).toBe(0);
});

it('schedules nothing without a collector (node without --expose-gc)', () => {
  const busy = vi.fn(() => false);
  compactHeapWhenIdle(busy, undefined, 1000, undefined);
  expect(vi.getTimerCount()).toBe(0);
  vi.advanceTimersByTime(5000);
  expect(busy).not.toHaveBeenCalled();
});
