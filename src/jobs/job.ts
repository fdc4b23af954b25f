// One unit of storage-mutating work: its identity, its observable state, and the promise every caller that
// joined it awaits.

import { EventEmitter } from 'node:events';
import { createError, type StorageError, toStorageError } from '../errors.js';
import {
  type EndFieldName,
  type JobFieldValues,
  type ProgressFieldName,
  SNAPSHOT_FIELD_NAMES,
} from './job-fields.js';

export const JOB_KINDS = ['pull', 'pull-from-host', 'remove', 'prune', 'gc', 'sync'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
/** `blocked`: running, but waiting for the ostree sysroot lock while bootc or ostree deploys. */
export type JobState = 'queued' | 'running' | 'blocked' | 'done' | 'failed' | 'canceled';
export type JobResultName = 'done' | 'failed' | 'canceled';

/** The observable state of a job, as transports publish it: every field of the list but those set at its end. */
export type JobSnapshot = Omit<JobFieldValues, EndFieldName | 'kind' | 'state'> & {
  kind: JobKind;
  state: JobState;
};

/** The fields a job's work reports while it runs (the list's `progress` fields). */
export type ProgressFields = ProgressFieldName;

export interface JobContext {
  signal: AbortSignal;
  /** Updates progress fields (numbers that are not finite and ≥ 0 are ignored); emits `changed`. */
  report(update: Partial<Pick<JobSnapshot, ProgressFields>>): void;
  /** Shows the job as `blocked` (waiting for the sysroot lock) or back to `running`. */
  setWaiting(waiting: boolean): void;
}

export type JobWork<T> = (ctx: JobContext) => Promise<T>;

/** A queued or running job. Emits `changed` (names of changed fields) and `finished` (result name). */
export class Job<T = unknown> extends EventEmitter {
  readonly id: number;
  readonly kind: JobKind;
  readonly target: string;
  readonly owner: number;
  /** Identity for joining identical requests (kind + normalized target + policy). */
  readonly key: string;
  state: JobState = 'queued';
  progress = -1;
  bytesDone = 0;
  bytesTotal = 0;
  layersDone = 0;
  layersTotal = 0;
  attempt = 1;
  itemsDone = 0;
  itemsTotal = 0;
  item = '';
  error: StorageError | undefined;
  /** The work's value once the job is done (what a blocking call returns; kept for late readers). */
  value: T | undefined;
  /** When the job ended (ms since the epoch), 0 while it has not. */
  endedAt = 0;
  readonly result: Promise<T>;
  private readonly abort = new AbortController();
  private readonly work: JobWork<T>;
  /**
   * Who still wants this job: one entry per requester (a bus connection, or a Varlink peer) that submitted or
   * joined it, with its uid. A requester's cancel withdraws that requester only; the job stops when nobody is
   * left (or on a cancel for everyone, which needs cancel-foreign).
   */
  private readonly requesters = new Map<string, { uid: number; withdraw: Set<(e: StorageError) => void> }>();
  private settle!: { resolve: (v: T) => void; reject: (e: unknown) => void };

  constructor(init: {
    id: number;
    kind: JobKind;
    target: string;
    owner: number;
    key: string;
    work: JobWork<T>;
  }) {
    super();
    this.id = init.id;
    this.kind = init.kind;
    this.target = init.target;
    this.owner = init.owner;
    this.key = init.key;
    this.work = init.work;
    this.result = new Promise<T>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Callers attach to `result` when they want it; an unobserved failure must not crash the daemon.
    this.result.catch(() => undefined);
  }

  /** A plain copy of the observable fields: every field of the list but those set at the end. */
  snapshot(): JobSnapshot {
    const fields = this as unknown as Record<string, unknown>;
    return Object.fromEntries(SNAPSHOT_FIELD_NAMES.map((name) => [name, fields[name]])) as JobSnapshot;
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed' || this.state === 'canceled';
  }

  /** Runs the work once; called by the queue. */
  async run(): Promise<void> {
    if (this.finished) return;
    this.set({ state: 'running' });
    try {
      // Work that completed is done, even if a cancel arrived after its last step: the store changed.
      const value = await this.work({
        signal: this.abort.signal,
        report: (u) => this.set(u),
        setWaiting: (waiting) => {
          if (!this.finished) this.set({ state: waiting ? 'blocked' : 'running' });
        },
      });
      if (this.progress !== -1 || this.kind === 'pull') this.set({ progress: 1 });
      this.value = value;
      this.finish('done');
      this.settle.resolve(value);
    } catch (err) {
      const e = this.abort.signal.aborted
        ? createError('Canceled', `job ${this.id} was canceled`, {}, err)
        : toStorageError(err);
      this.error = e;
      this.finish(e.name === 'Canceled' ? 'canceled' : 'failed');
      this.settle.reject(e);
    }
  }

  /** Records one more requester (the submitter or a joiner). */
  addRequester(key: string, uid: number): void {
    if (!this.requesters.has(key)) this.requesters.set(key, { uid, withdraw: new Set() });
  }

  /** Whether this requester, or (without a key) any requester of this uid, still wants the job. */
  isWantedBy(uid: number, key?: string): boolean {
    if (key !== undefined && this.requesters.has(key)) return true;
    return [...this.requesters.values()].some((r) => r.uid === uid);
  }

  /**
   * The job's result as one requester sees it: the shared result, or Canceled as soon as that requester
   * withdraws while others keep the job going.
   */
  resultFor(key: string): Promise<T> {
    const entry = this.requesters.get(key);
    if (!entry) return this.result;
    return new Promise<T>((resolve, reject) => {
      entry.withdraw.add(reject);
      this.result.then(resolve, reject).finally(() => entry.withdraw.delete(reject));
    });
  }

  /**
   * Withdraws a requester (by key, else every requester of `uid`): its waiting calls end Canceled. The job is
   * canceled when nobody wants it any more. Returns whether the job was stopped.
   */
  withdraw(uid: number, key?: string): boolean {
    const keys =
      key !== undefined && this.requesters.has(key)
        ? [key]
        : [...this.requesters].filter(([, r]) => r.uid === uid).map(([k]) => k);
    const leaving = keys.map((k) => this.requesters.get(k));
    for (const k of keys) this.requesters.delete(k);
    if (this.requesters.size === 0) {
      // Nobody is left: the job stops, and every call gets the job's own end (Canceled once podman is gone).
      this.cancel();
      return true;
    }
    const e = createError(
      'Canceled',
      `job ${this.id} was canceled for this caller; others still wait for it`,
    );
    for (const entry of leaving) for (const reject of entry?.withdraw ?? []) reject(e);
    return false;
  }

  /** Cancels for everyone: a queued job ends at once; a running one is signalled and ends when its podman is gone. */
  cancel(): void {
    if (this.finished) return;
    this.abort.abort();
    if (this.state === 'queued') {
      const e = createError('Canceled', `job ${this.id} was canceled`);
      this.error = e;
      this.finish('canceled');
      this.settle.reject(e);
    }
  }

  private finish(result: JobResultName) {
    this.endedAt = Date.now();
    this.set({ state: result });
    this.emitSafely('finished', result);
  }

  /**
   * Tells listeners (transports publishing progress) without letting one of them throw into the work or the
   * queue: a throw here once left a job unfinished forever, its caller unanswered. Their failure is reported
   * as `listener-error` for the daemon to log.
   */
  private emitSafely(event: 'changed' | 'finished', arg: unknown) {
    for (const listener of this.listeners(event) as ((a: unknown) => void)[]) {
      try {
        listener.call(this, arg);
      } catch (err) {
        try {
          this.emit('listener-error', err);
        } catch {
          // a failing error logger must not stop the others either
        }
      }
    }
  }

  private set(update: Partial<Pick<JobSnapshot, 'state' | ProgressFields>>) {
    const changed: string[] = [];
    for (const [k, v] of Object.entries(update) as [keyof typeof update, never][]) {
      if (v === undefined || this[k] === v) continue;
      // Progress numbers come from outside (a registry's sizes): only finite ones are published (-1 is progress
      // "unknown"); the wire types (uint64, double) could not carry anything else.
      if (typeof v === 'number' && (!Number.isFinite(v) || (v < 0 && !(k === 'progress' && v === -1))))
        continue;
      (this as Record<string, unknown>)[k] = v;
      changed.push(k);
    }
    if (changed.length > 0) this.emitSafely('changed', changed);
  }
}
