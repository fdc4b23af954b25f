// The registry's size answer for the pull that runs next, asked while the current job runs. A pull waits for
// its size before it starts (the space check must come first), so a queue of pulls would pay that round trip
// (a skopeo process and a manifest GET, ~30–40 ms) once per job on the serial path; asked ahead, beside the
// running pull at the lowest CPU priority, the answer is there when the next job starts. One at a time; an
// answer the next job does not take (canceled, or another job came first) is dropped and its query stopped.

import type { Job } from '../jobs/job.js';
import type { ImageReference } from '../storage/reference.js';
import type { RemoteSizeAnswer, Store } from '../storage/store.js';
import type { ImageView } from './image-view.js';
import { decidePull, type PullPolicy } from './pull-decision.js';

/** Longest a prefetched query may run (PullRun bounds its own query the same way). */
const PREFETCH_LIMIT_MS = 60_000;

export class SizePrefetch {
  private pending: { image: string; answer: Promise<RemoteSizeAnswer>; abort: AbortController } | undefined;
  /** Each queued pull job's reference and policy, as parsed once at the boundary. */
  private readonly pulls = new WeakMap<object, { ref: ImageReference; policy: PullPolicy }>();

  /** Remembers what a pull job pulls, so its size can be asked ahead. */
  remember(job: object, ref: ImageReference, policy: PullPolicy): void {
    this.pulls.set(job, { ref, policy });
  }

  /** Asks ahead for the pull job `next` (if it is one), unless the pull decision says it will fetch nothing. */
  startForNext(store: Store, next: Job | undefined, view: ImageView): void {
    const pull = next && this.pulls.get(next);
    if (!pull) return;
    if ('answer' in decidePull(pull.ref, pull.policy, view.peek(pull.ref)?.image)) return;
    this.start(store, pull.ref.canonical);
  }

  /** Starts asking for `image`'s size now, unless that is already being asked (drops any other answer). */
  start(store: Store, image: string): void {
    if (this.pending?.image === image) return;
    this.drop();
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(PREFETCH_LIMIT_MS)]);
    const answer = store
      .remoteSize(image, { signal, beside: true })
      .catch(
        (err: unknown): RemoteSizeAnswer => ({ size: undefined, reason: `prefetch failed: ${String(err)}` }),
      );
    this.pending = { image, answer, abort };
  }

  /** The answer asked ahead for `image`, if any (taken once); any other pending answer is dropped. */
  take(image: string): Promise<RemoteSizeAnswer> | undefined {
    const p = this.pending;
    if (p?.image !== image) {
      this.drop();
      return undefined;
    }
    this.pending = undefined;
    return p.answer;
  }

  /** Stops the query in flight, if any (shutdown, or an answer nobody will take). */
  drop(): void {
    this.pending?.abort.abort();
    this.pending = undefined;
  }
}
