// The core every transport calls: validates requests, answers reads from the image view, turns writes into
// jobs on the one serialized queue, and reports job progress. Transports only parse, authorize, call this
// and map results; no storage logic lives anywhere else.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { ActionId } from '../authz/actions.js';
import { createError } from '../errors.js';
import type { Job, JobContext, JobKind, JobResultName, JobWork } from '../jobs/job.js';
import { JobHistory } from '../jobs/job-history.js';
import { JobQueue } from '../jobs/job-queue.js';
import type { ImageEntry } from '../storage/parse-image-list.js';
import type { ImageReference } from '../storage/reference.js';
import type { Store } from '../storage/store.js';
import type { Caller, Outcome } from './caller.js';
import { ImageView } from './image-view.js';
import { decideFromView, fetchedResult, type PullPolicy, type PullResult } from './pull-decision.js';
import { PullRun } from './pull-run.js';
import { PullStaging } from './pull-staging.js';
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  type PullSettings,
  type StorageServiceOptions,
} from './service-options.js';
import { SizePrefetch } from './size-prefetch.js';
import { StoreHandle } from './store-handle.js';
import { canonicalImage, canonicalTarget, checkListSize, describeTargets } from './targets.js';

export { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_STALL_TIMEOUT_MS, type StorageServiceOptions };

export class StorageService {
  readonly queue: JobQueue;
  /** Ended jobs, readable for a while (job handles: StartPull…). */
  readonly history: JobHistory;
  readonly view: ImageView;
  /** The store, or why it cannot be opened now (every call then answers with that reason). */
  readonly handle: StoreHandle;
  /** The daemon's logger (silent in tests that give none): the change feed logs through it too. */
  readonly log: Logger;
  private readonly staging: PullStaging;
  private readonly stallTimeoutMs: number;
  private readonly progressTotals: boolean;
  private readonly lockTimeoutMs: number;
  /** Retries and the space reserve, handed to every pull unchanged. */
  private readonly pullSettings: PullSettings;
  /** The size of the pull queued next, asked while the current job runs. */
  private readonly sizes = new SizePrefetch();
  /** We own the bus name: staging leftovers of an earlier run are ours to wipe once the store is open. */
  private ownsState = false;

  constructor(store: Store | StoreHandle, opts: StorageServiceOptions = {}) {
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.queue = new JobQueue({ maxQueued: opts.maxQueued });
    this.history = new JobHistory({ retainMs: opts.jobRetentionMs });
    this.queue.on('job-removed', (job) => this.history.add(job));
    this.stallTimeoutMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.progressTotals = opts.progressTotals ?? true;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.pullSettings = {
      pullRetries: opts.pullRetries,
      retryBaseDelayMs: opts.retryBaseDelayMs,
      spaceReserveBytes: opts.spaceReserveBytes,
    };
    this.handle = store instanceof StoreHandle ? store : StoreHandle.of(store);
    const handle = this.handle;
    // Reads while the store cannot be opened answer with the reason, at once (no retry on the read path).
    this.view = new ImageView({
      list: async () => (await handle.forRead()).list(),
      changeToken: () => handle.current?.changeToken() ?? 'unavailable',
    });
    // Pull staging lives beside the store, on the same filesystem, and is wiped at start (a crash leftover).
    this.staging = new PullStaging(join(this.handle.storePath, '..', 'storaged-tmp'));
    this.queue.on('job-new', (job) => {
      this.log.info({ job: job.id, kind: job.kind, target: job.target }, 'job queued');
      // A transport that failed to publish a change: logged; the job itself goes on (job.ts).
      job.on('listener-error', (err: unknown) =>
        this.log.error({ job: job.id, err: String(err) }, 'publishing a job change failed'),
      );
    });
    this.queue.on('job-removed', (job, result) =>
      this.log.info({ job: job.id, kind: job.kind, result, error: job.error?.name }, 'job finished'),
    );
  }

  /** Where the store is (whether or not it could be opened). */
  get storePath(): string {
    return this.handle.storePath;
  }

  /** The open store, (re)trying to create or open it first: what every write job starts with. */
  async openStore(): Promise<Store> {
    const store = await this.handle.get();
    if (this.ownsState) await this.staging.wipe();
    return store;
  }

  /** Removes staging leftovers of a previous run once the store is open; call once the bus name is ours. */
  async cleanStaleState(): Promise<void> {
    this.ownsState = true;
    if (this.handle.current) await this.staging.wipe();
  }

  /** Whether the reference names an image in the store (answered from the view). */
  async exists(ref: ImageReference): Promise<boolean> {
    return (await this.view.find(ref)) !== undefined;
  }

  /** Every image in the store (answered from the view). */
  list(): Promise<ImageEntry[]> {
    return this.view.get();
  }

  /** Queues (or joins) a pull of a reference parsed once, at the boundary; `result` resolves when it ends. */
  pull(ref: ImageReference, policy: PullPolicy, owner: number, requester?: string): Job<PullResult> {
    const key = `${ref.canonical} ${policy}`;
    const job = this.submit(
      'pull',
      ref.canonical,
      key,
      owner,
      (ctx) => this.runPull(ref, policy, ctx),
      requester,
    );
    this.sizes.remember(job, ref, policy);
    return job;
  }

  /**
   * One pull as a job's work (a pull job, or one image of a sync), in queue order (a Remove queued before it
   * has happened), decided once (pull-decision.ts): what the exact view knows is answered without podman,
   * staging or a refresh; anything else is fetched.
   */
  async runPull(ref: ImageReference, policy: PullPolicy, ctx: JobContext): Promise<PullResult> {
    const store = await this.openStore();
    const decision = await decideFromView(this.view, ref, policy);
    if ('answer' in decision) {
      this.log.debug({ image: ref.canonical, policy, id: decision.current?.id }, 'image already present');
      return decision.answer;
    }
    const { before } = decision.fetch;
    const sizeAnswer = this.progressTotals ? this.sizes.take(ref.canonical) : undefined;
    if (this.progressTotals) this.sizes.startForNext(store, this.queue.peekNext(), this.view);
    const tmpDir = await this.staging.makeDir();
    try {
      const { id } = await new PullRun({
        store,
        ref,
        ctx,
        tmpDir,
        stallTimeoutMs: this.stallTimeoutMs,
        progressTotals: this.progressTotals,
        ...this.pullSettings,
        present: before !== undefined,
        sizeAnswer,
        log: this.log,
      }).run();
      return fetchedResult(policy, before, id);
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
      // Not awaited: the reply need not wait for a re-list (~30 ms). The store's change token moved, so
      // the next read joins this refresh or starts one; reads stay exact.
      this.refreshView();
    }
  }

  /** Queues (or joins) a copy from the host's default store. */
  pullFromHost(ref: ImageReference, owner: number, requester?: string): Job<void> {
    return this.submit(
      'pull-from-host',
      ref.canonical,
      ref.canonical,
      owner,
      this.storeWork((store, signal) => store.pullFromHost(ref.canonical, { signal })),
      requester,
    );
  }

  /** Queues (or joins) a removal; every target is validated now, before anything is queued. */
  remove(images: readonly string[], owner: number, requester?: string): Job<string[]> {
    checkListSize(images, 'images');
    const targets = images.map(canonicalTarget);
    const key = [...new Set(targets)].sort().join(' ');
    return this.submit(
      'remove',
      describeTargets(targets),
      key,
      owner,
      // Resolved against the view when it is current (exact, as the job runs in queue order): no first list.
      this.storeWork((store, signal) => store.remove(targets, { signal, images: this.view.peekAll() })),
      requester,
    );
  }

  /** Queues (or joins) a prune keeping only images referenced by `roots`. */
  prune(roots: readonly string[], owner: number, requester?: string): Job<string[]> {
    if (roots.length === 0)
      throw createError('NoRoots', 'refusing to prune with no roots: it would remove every image');
    checkListSize(roots, 'roots');
    const canon = roots.map(canonicalImage);
    const key = [...new Set(canon)].sort().join(' ');
    return this.submit(
      'prune',
      describeTargets(canon),
      key,
      owner,
      this.storeWork((store, signal) => store.pruneExcept(canon, { signal, images: this.view.peekAll() })),
      requester,
    );
  }

  /**
   * Collects garbage: roots from every ostree deployment (bound images + host image), then a prune. The roots
   * are computed inside the job, so they reflect the deployments at the moment the collection runs; a dry
   * run computes and reports at once, without a job.
   */
  async collectGarbage(
    dryRun: boolean,
    owner: number,
    requester = `uid:${owner}`,
    opts: { asJob?: boolean } = {},
  ): Promise<Outcome<string[]>> {
    const sysroot = this.handle.sysroot;
    const collect = async (store: Store, signal: AbortSignal | undefined) => {
      // The GC code is loaded on the first collection, not at start-up (bench/memory.ts).
      const { findGcRoots } = await import('../gc/find-roots.js');
      const roots = findGcRoots(sysroot);
      this.log.info({ roots: roots.map((r) => r.image), dryRun }, 'garbage-collection roots');
      // By ID: under the sysroot lock no one else writes (bootc pulls under it too).
      const ids = await store.pruneExcept(
        roots.map((r) => r.image),
        { signal, dryRun, byId: true },
      );
      this.log.info({ removed: ids, dryRun }, dryRun ? 'would remove' : 'removed unreferenced images');
      return ids;
    };
    // A dry run removes nothing, so it takes no lock: like every read, it never waits for bootc. Asked for as
    // a job (StartGarbageCollect), it is queued like any job, still without the lock.
    if (dryRun && !opts.asJob) return { value: await collect(await this.handle.forRead(), undefined) };
    if (dryRun) {
      const job = this.submit(
        'gc',
        sysroot,
        'gc dry-run',
        owner,
        async (ctx) => collect(await this.handle.forRead(), ctx.signal),
        requester,
      );
      return { job };
    }
    const job = this.submit(
      'gc',
      sysroot,
      'gc',
      owner,
      async (ctx) => {
        const store = await this.openStore();
        // The deployments decide what stays; while bootc/ostree deploy (under this lock) they are in flux, and
        // bootc pulls a new deployment's bound images before the deployment exists. Wait, visibly, bounded.
        const lock = await store.lockSysroot({
          signal: ctx.signal,
          timeoutMs: this.lockTimeoutMs,
          onWaiting: () => {
            this.log.info({ sysroot }, 'waiting for the ostree sysroot lock');
            ctx.setWaiting(true);
          },
        });
        ctx.setWaiting(false);
        try {
          return await collect(store, ctx.signal);
        } finally {
          lock.release();
          this.refreshView();
        }
      },
      requester,
    );
    return { job };
  }

  /**
   * A caller's cancel. One who wants the job (its connection, else its uid, submitted or joined it) withdraws
   * itself without polkit; the job stops only when nobody wants it any more. Anyone else stops it for
   * everyone, which needs `foreignAction`.
   */
  async cancelFor(job: Job, caller: Caller, foreignAction: ActionId): Promise<void> {
    const uid = await caller.uid();
    if (job.isWantedBy(uid, caller.who)) {
      const stopped = job.withdraw(uid, caller.who);
      this.log.info({ job: job.id, by: uid, stopped }, stopped ? 'cancel requested' : 'caller withdrew');
      return;
    }
    await caller.authorize(foreignAction, { job: String(job.id) });
    this.log.info({ job: job.id, by: uid }, 'cancel requested (for every caller)');
    job.cancel();
  }

  /**
   * Tells a transport about every new job (it exports it), every job that ends (it stays readable) and every
   * ended job that is dropped after its retention time (it is unexported).
   */
  onJobEvents(
    onNew: (job: Job) => void,
    onRemoved: (job: Job, result: JobResultName) => void,
    onExpired: (job: Job) => void = () => undefined,
  ): void {
    this.queue.on('job-new', onNew);
    this.queue.on('job-removed', onRemoved);
    this.history.on('expired', onExpired);
  }

  /** The job with this id: queued, running, or ended within its retention time. */
  findJob(id: number): Job | undefined {
    return this.queue.get(id) ?? this.history.get(id);
  }

  /** Every job a transport publishes: the ended ones still kept, then the queued and running, by id. */
  allJobs(): Job[] {
    return [...this.history.list(), ...this.queue.list()].sort((a, b) => a.id - b.id);
  }

  /** Refuses new work from now on (shutdown); what is queued is canceled by shutdown(). */
  close(): void {
    this.queue.close();
  }

  /** Queued and running jobs, oldest first. */
  listJobs(): Job[] {
    return this.queue.list();
  }

  /** The job with this id, or NotFound. */
  getJob(id: number): Job {
    const job = this.queue.get(id);
    if (!job) throw createError('NotFound', `no job ${id} is queued or running`);
    return job;
  }

  /** True when no job is queued or running, and no ended job is still kept for late readers. */
  get idle(): boolean {
    return this.queue.idle && this.history.size === 0;
  }

  /** Cancels everything and waits for the running podman to be gone. */
  async shutdown(): Promise<void> {
    this.sizes.drop();
    await this.queue.cancelAll();
  }

  /**
   * Queues a job of this service, or joins an identical one; shared by every write method. `requester` names
   * the caller (a bus connection; default: its uid) so that its cancel withdraws it alone (Job.withdraw).
   */
  submit<T>(
    kind: JobKind,
    target: string,
    key: string,
    owner: number,
    work: JobWork<T>,
    requester = `uid:${owner}`,
  ): Job<T> {
    const { job, joined } = this.queue.submit<T>({ kind, target, key: `${kind}\u0000${key}`, owner, work });
    job.addRequester(requester, owner);
    if (joined) this.log.info({ job: job.id, kind }, 'joined an identical job');
    return job;
  }

  /** A job's work on the open store (opened or retried first); the view is refreshed after it, whatever the outcome. */
  private storeWork<T>(fn: (store: Store, signal: AbortSignal) => Promise<T>): JobWork<T> {
    return async (ctx) => {
      try {
        return await fn(await this.openStore(), ctx.signal);
      } finally {
        this.refreshView();
      }
    };
  }

  /**
   * Keeps the view warm after one of our writes, off the reply path. Skipped while other jobs wait: each
   * re-list would run beside the next podman (measured: 50 queued pulls 1.27x slower than raw podman);
   * the change token still makes the next read re-list, so reads stay exact either way.
   */
  private refreshView(): void {
    if (this.queue.queuedCount > 0) return;
    void this.view
      .get()
      .catch((err: unknown) => this.log.warn({ err: String(err) }, 'image view refresh failed'));
  }
}
