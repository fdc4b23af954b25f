// The one serialized queue of storage-mutating jobs: FIFO, one at a time, identical requests joined, a hard
// cap on waiting jobs. Emits `job-new` and `job-removed` for transports to publish.

import { EventEmitter } from 'node:events';
import { createError } from '../errors.js';
import { Job, type JobKind, type JobResultName, type JobWork } from './job.js';

export const DEFAULT_MAX_QUEUED = 64;

export interface SubmitRequest<T> {
  kind: JobKind;
  /** Human-readable normalized target (shown as the job's Target). */
  target: string;
  /** Identity for joining; requests with equal keys share one job. */
  key: string;
  owner: number;
  work: JobWork<T>;
}

export interface JobQueueEvents {
  'job-new': [Job];
  'job-removed': [Job, JobResultName];
}

export class JobQueue extends EventEmitter<JobQueueEvents> {
  private readonly maxQueued: number;
  private readonly waiting: Job[] = [];
  private current: Job | undefined;
  private nextId = 1;
  private readonly byId = new Map<number, Job>();
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(opts: { maxQueued?: number } = {}) {
    super();
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
  }

  /** Queues a job, or joins an identical queued/running one. Throws Busy past the cap. */
  /** Refuses new work from now on (shutdown); queued and running jobs are left to the caller to cancel. */
  close(): void {
    this.closed = true;
  }

  submit<T>(req: SubmitRequest<T>): { job: Job<T>; joined: boolean } {
    if (this.closed) throw createError('Busy', 'the daemon is stopping; try again in a moment');
    const existing = [this.current, ...this.waiting].find(
      (j) => j !== undefined && !j.finished && j.key === req.key,
    );
    if (existing) return { job: existing as Job<T>, joined: true };
    if (this.waiting.length >= this.maxQueued) {
      throw createError('Busy', `the job queue is full (${this.maxQueued} waiting); try again later`);
    }
    const job = new Job<T>({ id: this.nextId++, ...req });
    this.byId.set(job.id, job as Job);
    this.waiting.push(job as Job);
    job.once('finished', (result: JobResultName) => {
      this.byId.delete(job.id);
      const i = this.waiting.indexOf(job as Job);
      if (i !== -1) this.waiting.splice(i, 1);
      this.emit('job-removed', job as Job, result);
    });
    this.emit('job-new', job as Job);
    this.pump();
    return { job, joined: false };
  }

  /** Queued and running jobs, oldest first. */
  list(): Job[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): Job | undefined {
    return this.byId.get(id);
  }

  /** The job that runs next (the oldest still waiting), if any: what a running job may prepare for. */
  peekNext(): Job | undefined {
    return this.waiting.find((j) => !j.finished);
  }

  /** Jobs waiting behind the running one. */
  get queuedCount(): number {
    return this.waiting.length;
  }

  /** True when nothing is queued or running. */
  get idle(): boolean {
    return this.byId.size === 0;
  }

  /** Cancels every job and waits until the running one has ended. */
  async cancelAll(): Promise<void> {
    this.close();
    for (const job of [...this.waiting].reverse()) job.cancel();
    const running = this.current;
    running?.cancel();
    if (running) await running.result.catch(() => undefined);
    await this.draining;
  }

  private pump() {
    if (this.draining) return;
    this.draining = (async () => {
      for (;;) {
        const job = this.waiting.shift();
        if (!job) break;
        if (job.finished) continue;
        this.current = job;
        try {
          await job.run();
        } finally {
          this.current = undefined;
        }
      }
    })().finally(() => {
      this.draining = undefined;
      if (this.waiting.length > 0) this.pump();
    });
  }
}
