// The bound-image sync job's work, run as a real Job with a fake pull: which images it pulls and in what order,
// what the job shows while it runs (item, items, overall progress), unknown deployments, failures and cancel.

import { describe, expect, it } from 'vitest';
import { type BoundRef, type SyncBoundOptions, syncBoundImages } from '../../src/core/sync-bound-images.js';
import { createError } from '../../src/errors.js';
import { Job, type JobContext, type JobSnapshot } from '../../src/jobs/job.js';

const DEPLOYMENTS = ['aaa.0', 'bbb.0', 'ccc.1'];
const BOUND: BoundRef[] = [
  { image: 'quay.io/app/db:2', deployment: 'aaa.0' },
  { image: 'quay.io/app/web:2', deployment: 'aaa.0' },
  { image: 'quay.io/app/cache:1', deployment: 'aaa.0' },
  { image: 'quay.io/app/db:2', deployment: 'bbb.0' },
  { image: 'quay.io/app/db:1', deployment: 'bbb.0' },
  { image: 'quay.io/app/web:2', deployment: 'bbb.0' },
];

type Pull = SyncBoundOptions['pullOne'];

/** Runs the sync as a job; returns its result (or error) and every snapshot the job published. */
async function runSync(
  deployment: string,
  pullOne: Pull,
  present: string[] = [],
  onJob?: (j: Job<string[]>) => void,
) {
  const job = new Job<string[]>({
    id: 1,
    kind: 'sync',
    target: deployment,
    owner: 0,
    key: `sync ${deployment}`,
    work: (ctx) =>
      syncBoundImages(
        {
          deployment,
          listDeployments: () => DEPLOYMENTS,
          listBound: async () => BOUND,
          isPresent: (image) => present.includes(image),
          pullOne,
        },
        ctx,
      ),
  });
  const seen: JobSnapshot[] = [];
  job.on('changed', () => seen.push(job.snapshot()));
  onJob?.(job);
  await job.run();
  const result = await job.result.then(
    (value) => ({ value, error: undefined }),
    (error: Error & { details: Record<string, unknown> }) => ({ value: undefined, error }),
  );
  return { ...result, job, seen };
}

/** A pull that reports halfway, then finishes; records what it was asked for. */
function fakePull(log: string[], opts: { fetched?: (image: string) => boolean } = {}): Pull {
  return async (image, progress, signal) => {
    log.push(image);
    expect(signal.aborted).toBe(false);
    progress.report({
      progress: 0.5,
      bytesDone: 50,
      bytesTotal: 100,
      layersDone: 1,
      layersTotal: 2,
      itemsDone: 99,
    });
    progress.report({ progress: -1 }); // unknown for a moment: the overall progress must not move back
    progress.report({ progress: 0.25 });
    return { fetched: opts.fetched?.(image) ?? true };
  };
}

describe('syncBoundImages', () => {
  it('pulls the missing images of one deployment in order, each once, showing item and overall progress', async () => {
    const log: string[] = [];
    const { value, job, seen } = await runSync('aaa.0', fakePull(log), ['quay.io/app/web:2']);
    expect(log).toEqual(['quay.io/app/db:2', 'quay.io/app/cache:1']);
    expect(value).toEqual(['quay.io/app/db:2', 'quay.io/app/cache:1']);
    const progress = seen.map((s) => s.progress);
    expect(progress.filter((p) => p !== -1)).toEqual(
      [...progress.filter((p) => p !== -1)].sort((a, b) => a - b),
    );
    // while on the first of two: half of it done is a quarter of the job; bytes and layers are the pull's own
    const half = seen.find((s) => s.item === 'quay.io/app/db:2' && s.bytesDone === 50);
    expect(half).toMatchObject({
      itemsDone: 0,
      itemsTotal: 2,
      progress: 0.25,
      layersDone: 1,
      layersTotal: 2,
    });
    const second = seen.find((s) => s.item === 'quay.io/app/cache:1');
    expect(second).toMatchObject({ itemsDone: 1, itemsTotal: 2, progress: 0.5, bytesDone: 0, bytesTotal: 0 });
    expect(seen.some((s) => s.item === 'quay.io/app/cache:1' && s.progress === 0.75)).toBe(true);
    expect(job.snapshot()).toMatchObject({
      state: 'done',
      itemsDone: 2,
      itemsTotal: 2,
      item: '',
      progress: 1,
    });
  });

  it("'' syncs every deployment, an image bound by several pulled once", async () => {
    const log: string[] = [];
    const { value } = await runSync('', fakePull(log));
    expect(log).toEqual(['quay.io/app/db:2', 'quay.io/app/web:2', 'quay.io/app/cache:1', 'quay.io/app/db:1']);
    expect(value).toEqual(log);
  });

  it('a deployment that binds nothing, or whose images are all present, is done at once', async () => {
    const log: string[] = [];
    let r = await runSync('ccc.1', fakePull(log));
    expect(r.value).toEqual([]);
    expect(r.job.snapshot()).toMatchObject({ state: 'done', itemsTotal: 0, itemsDone: 0, progress: 1 });
    r = await runSync('bbb.0', fakePull(log), ['quay.io/app/db:2', 'quay.io/app/db:1', 'quay.io/app/web:2']);
    expect(r.value).toEqual([]);
    expect(log).toEqual([]);
  });

  it('an image another pull fetched meanwhile (fetched: false) is not reported as pulled', async () => {
    const log: string[] = [];
    const { value } = await runSync('aaa.0', fakePull(log, { fetched: (i) => i !== 'quay.io/app/web:2' }));
    expect(log).toHaveLength(3);
    expect(value).toEqual(['quay.io/app/db:2', 'quay.io/app/cache:1']);
  });

  it('an unknown deployment is NotFound, and nothing is pulled', async () => {
    const log: string[] = [];
    const { error, job } = await runSync('zzz.9', fakePull(log));
    expect(error?.name).toBe('NotFound');
    expect(error?.message).toContain('zzz.9');
    expect(log).toEqual([]);
    expect(job.state).toBe('failed');
  });

  it('a failed pull ends the sync with its error, saying what was pulled before it', async () => {
    const log: string[] = [];
    const pull: Pull = async (image, progress, signal) => {
      if (image === 'quay.io/app/web:2') throw createError('PullFailed', 'manifest unknown', { reason: 'x' });
      return fakePull(log)(image, progress, signal);
    };
    const { error, job } = await runSync('aaa.0', pull);
    expect(error?.name).toBe('PullFailed');
    expect(error?.message).toMatch(
      /^manifest unknown \(bound-image sync: quay\.io\/app\/web:2 failed, image 2 of 3; /,
    );
    expect(error?.message).toContain('pulled before it: quay.io/app/db:2');
    expect(error?.details).toMatchObject({ image: 'quay.io/app/web:2', pulled: ['quay.io/app/db:2'] });
    expect(log).toEqual(['quay.io/app/db:2']); // the third is never started
    expect(job.snapshot()).toMatchObject({ state: 'failed', itemsDone: 1, item: 'quay.io/app/web:2' });
  });

  it('cancel inside a pull stops it (the pull sees the signal) and starts no other', async () => {
    const started: string[] = [];
    let job: Job<string[]> | undefined;
    const pull: Pull = (image, _progress, signal) => {
      started.push(image);
      job?.cancel(); // while the first pull runs
      return new Promise((_resolve, reject) => {
        if (signal.aborted) reject(createError('Canceled', 'podman stopped'));
        signal.addEventListener('abort', () => reject(createError('Canceled', 'podman stopped')));
      });
    };
    const r = await runSync('aaa.0', pull, [], (j) => {
      job = j;
    });
    expect(r.error?.name).toBe('Canceled');
    expect(r.job.state).toBe('canceled');
    expect(started).toEqual(['quay.io/app/db:2']);
  });

  it('cancel between pulls: a pull that completed stays done, the next one never starts', async () => {
    const started: string[] = [];
    let job: Job<string[]> | undefined;
    const pull: Pull = async (image, progress: JobContext) => {
      started.push(image);
      progress.report({ progress: 1 });
      job?.cancel(); // arrives as this pull ends
      return { fetched: true };
    };
    const r = await runSync('aaa.0', pull, [], (j) => {
      job = j;
    });
    expect(r.job.state).toBe('canceled');
    expect(started).toEqual(['quay.io/app/db:2']);
    expect(r.job.snapshot()).toMatchObject({ itemsDone: 1, itemsTotal: 3 });
  });

  it('passes setWaiting through to the job (a pull that waits shows the job blocked)', async () => {
    const states: string[] = [];
    const pull: Pull = async (_image, progress) => {
      progress.setWaiting(true);
      progress.setWaiting(false);
      return { fetched: true };
    };
    await runSync('bbb.0', pull, ['quay.io/app/db:2', 'quay.io/app/web:2'], (j) =>
      j.on('changed', (fields: string[]) => {
        if (fields.includes('state')) states.push(j.state);
      }),
    );
    expect(states).toEqual(['running', 'blocked', 'running', 'done']);
  });
});
