// Ended jobs, kept for a while so that a caller who started one with a handle (StartPull…) can read its state,
// result and error after the fact, as importd's and rpm-ostree's transfer objects can be. Bounded in time and
// in number: the oldest is dropped first when the cap is reached.

import { EventEmitter } from 'node:events';
import type { Job } from './job.js';

/** How long an ended job stays readable by default. */
export const DEFAULT_RETAIN_MS = 60_000;
/** At most this many ended jobs are kept, whatever their age. */
export const DEFAULT_MAX_RETAINED = 256;

export interface JobHistoryEvents {
  expired: [Job];
}

export class JobHistory extends EventEmitter<JobHistoryEvents> {
  private readonly jobs = new Map<number, { job: Job; timer: NodeJS.Timeout }>();
  private readonly retainMs: number;
  private readonly max: number;

  constructor(opts: { retainMs?: number; max?: number } = {}) {
    super();
    this.retainMs = opts.retainMs ?? DEFAULT_RETAIN_MS;
    this.max = Math.max(1, opts.max ?? DEFAULT_MAX_RETAINED);
  }

  /** Keeps an ended job for the retention time (then `expired`); the oldest goes first past the cap. */
  add(job: Job): void {
    if (this.jobs.has(job.id)) return;
    while (this.jobs.size >= this.max) {
      const oldest = this.jobs.keys().next().value as number;
      this.drop(oldest);
    }
    // unref: an ended job alone never keeps the process alive (shutdown is not delayed by it).
    const timer = setTimeout(() => this.drop(job.id), this.retainMs).unref();
    this.jobs.set(job.id, { job, timer });
  }

  get(id: number): Job | undefined {
    return this.jobs.get(id)?.job;
  }

  /** The kept jobs, oldest first. */
  list(): Job[] {
    return [...this.jobs.values()].map((e) => e.job);
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Forgets every job (shutdown), announcing each. */
  clear(): void {
    for (const id of [...this.jobs.keys()]) this.drop(id);
  }

  private drop(id: number): void {
    const entry = this.jobs.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.jobs.delete(id);
    this.emit('expired', entry.job);
  }
}
