// The size of the pull queued next is asked while the current job runs, once, at nice 19 ("beside"), and
// taken by that pull only; a pull the view answers (present `missing`, present digest) is not asked for.

import { expect, it } from 'vitest';
import { ImageView } from '../../src/core/image-view.js';
import type { PullPolicy } from '../../src/core/pull-decision.js';
import { SizePrefetch } from '../../src/core/size-prefetch.js';
import { Job } from '../../src/jobs/job.js';
import { parseReference } from '../../src/storage/reference.js';
import type { RemoteSizeAnswer, Store } from '../../src/storage/store.js';

function fakeStore() {
  const asked: { image: string; beside: boolean | undefined; signal: AbortSignal | undefined }[] = [];
  const store = {
    remoteSize: (image: string, opts: { signal?: AbortSignal; beside?: boolean }) => {
      asked.push({ image, beside: opts.beside, signal: opts.signal });
      return Promise.resolve<RemoteSizeAnswer>({ size: { bytes: 10, layers: 1 } });
    },
  } as unknown as Store;
  return { store, asked };
}

/** A queued pull job, remembered with its parsed reference and policy as StorageService.pull does. */
const pullJob = (sizes: SizePrefetch, target: string, policy: PullPolicy): Job => {
  const job = new Job<unknown>({
    id: 1,
    kind: 'pull',
    target,
    owner: 0,
    key: `pull\u0000${target} ${policy}`,
    work: async (): Promise<unknown> => 0,
  });
  sizes.remember(job, parseReference(target), policy);
  return job;
};

async function viewWith(names: string[]) {
  const view = new ImageView({
    list: async () => [{ id: 'a'.repeat(64), names, digests: [], digest: '', size: 0, created: 0 }],
    changeToken: () => 't',
  });
  await view.get();
  return view;
}

it('asks once, beside the running pull, and hands the answer to that image only', async () => {
  const { store, asked } = fakeStore();
  const sizes = new SizePrefetch();
  sizes.start(store, 'quay.io/a/b:1');
  sizes.start(store, 'quay.io/a/b:1');
  expect(asked).toHaveLength(1);
  expect(asked[0]?.beside).toBe(true);
  expect(sizes.take('quay.io/a/other:1')).toBeUndefined(); // another job came first: the answer is dropped
  expect(asked[0]?.signal?.aborted).toBe(true);
  expect(sizes.take('quay.io/a/b:1')).toBeUndefined();
  sizes.start(store, 'quay.io/a/b:2');
  expect(await sizes.take('quay.io/a/b:2')).toEqual({ size: { bytes: 10, layers: 1 } });
  expect(sizes.take('quay.io/a/b:2')).toBeUndefined(); // taken once
});

it('skips what the view answers without a pull, and jobs that are not pulls', async () => {
  const { store, asked } = fakeStore();
  const sizes = new SizePrefetch();
  const view = await viewWith(['quay.io/a/b:1']);
  sizes.startForNext(store, pullJob(sizes, 'quay.io/a/b:1', 'missing'), view);
  sizes.startForNext(store, undefined, view);
  sizes.startForNext(
    store,
    new Job<unknown>({
      id: 2,
      kind: 'remove',
      target: 'x',
      owner: 0,
      key: 'remove\u0000x',
      work: async (): Promise<unknown> => 0,
    }),
    view,
  );
  expect(asked).toEqual([]);
  sizes.startForNext(store, pullJob(sizes, 'quay.io/a/b:1', 'always'), view); // a re-pull still fetches
  sizes.startForNext(store, pullJob(sizes, 'quay.io/a/c:1', 'missing'), view); // absent: it will pull
  expect(asked.map((a) => a.image)).toEqual(['quay.io/a/b:1', 'quay.io/a/c:1']);
  sizes.drop();
});
