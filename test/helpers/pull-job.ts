// One pull as the core runs it (StorageService.runPull: the one pull decision against the store's listing,
// then a staging directory beside the store, PullRun, the directory removed after), on a real job queue, with
// options the service does not pass yet. Every job change and every log line is recorded for the test to read.

import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { decidePull, fetchedResult, type PullPolicy, type PullResult } from '../../src/core/pull-decision.js';
import { PullRun, type PullRunOptions } from '../../src/core/pull-run.js';
import type { Job, JobSnapshot } from '../../src/jobs/job.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { findImage } from '../../src/storage/image-match.js';
import { parseReference } from '../../src/storage/reference.js';
import type { Store } from '../../src/storage/store.js';

export type PullJobOptions = Partial<
  Omit<PullRunOptions, 'store' | 'ref' | 'present' | 'ctx' | 'tmpDir' | 'log'>
>;

export interface PullJob {
  job: Job<PullResult>;
  /** The job when queued, then a snapshot after every change, oldest first. */
  snapshots: JobSnapshot[];
  /** The pull's log lines (pino JSON, parsed). */
  logs: Record<string, unknown>[];
  /** The staging directory (gone once the job ended). */
  tmpDir: () => string | undefined;
}

/** Queues a pull of `image` on `queue` against `store`; fast defaults: no stall limit, 50 ms first retry delay. */
export function startPullJob(
  queue: JobQueue,
  store: Store,
  image: string,
  policy: PullPolicy,
  opts: PullJobOptions = {},
): PullJob {
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const ref = parseReference(image);
  const tmpBase = join(store.storePath, '..', 'storaged-tmp');
  let tmpDir: string | undefined;
  const { job } = queue.submit<PullResult>({
    kind: 'pull',
    target: ref.canonical,
    key: `pull\u0000${ref.canonical} ${policy} ${Math.random()}`,
    owner: 0,
    work: async (ctx) => {
      const decision = decidePull(ref, policy, findImage(await store.list({ signal: ctx.signal }), ref));
      if ('answer' in decision) return decision.answer;
      const { before } = decision.fetch;
      mkdirSync(tmpBase, { recursive: true, mode: 0o700 });
      tmpDir = await mkdtemp(join(tmpBase, 'pull-'));
      try {
        const { id } = await new PullRun({
          store,
          ref,
          present: before !== undefined,
          ctx,
          tmpDir,
          stallTimeoutMs: 0,
          progressTotals: true,
          retryBaseDelayMs: 50,
          log,
          ...opts,
        }).run();
        return fetchedResult(policy, before, id);
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    },
  });
  const snapshots: JobSnapshot[] = [job.snapshot()];
  job.on('changed', () => snapshots.push(job.snapshot()));
  return { job, snapshots, logs, tmpDir: () => tmpDir };
}

/** A queue for pull jobs in a test. */
export function newQueue(): JobQueue {
  return new JobQueue({ maxQueued: 64 });
}
