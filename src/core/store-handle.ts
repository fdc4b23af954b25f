// The store as the core sees it: open, or not openable right now and why. A daemon whose store cannot be
// created keeps serving: every call answers at once with the reason (a named error naming the path and the
// cause), and the next write tries again, so fixing the cause needs no restart.

import { EventEmitter } from 'node:events';
import { createError, type StorageError, toStorageError } from '../errors.js';
import type { Store } from '../storage/store.js';

export type StoreState = { open: true; storePath: string } | { open: false; error: StorageError };

/** Names every failure to open as StoreUnavailable (or ReadOnlyFilesystem), with the path and the cause. */
export function asUnavailable(err: unknown, storePath: string): StorageError {
  const e = toStorageError(err);
  if (e.name === 'StoreUnavailable' || e.name === 'ReadOnlyFilesystem') return e;
  return createError(
    'StoreUnavailable',
    `the image store ${storePath} cannot be created or opened: ${e.message}`,
    { ...e.details, path: e.details.path ?? storePath, reason: e.name },
    err,
  );
}

/** One store, opened once; a failed open is remembered (reads report it) and retried by the next write. */
export class StoreHandle extends EventEmitter<{ state: [StoreState] }> {
  private store: Store | undefined;
  private failure: StorageError | undefined;
  private opening: Promise<Store> | undefined;

  constructor(
    readonly sysroot: string,
    readonly storePath: string,
    private readonly openStore: () => Promise<Store>,
  ) {
    super();
  }

  /** A handle on a store that is already open (tests, tools). */
  static of(store: Store): StoreHandle {
    const handle = new StoreHandle(store.sysroot, store.storePath, () => Promise.resolve(store));
    handle.store = store;
    return handle;
  }

  /** The open store, if it is. */
  get current(): Store | undefined {
    return this.store;
  }

  /** Why the last attempt to open failed, while the store is not open. */
  get error(): StorageError | undefined {
    return this.store ? undefined : this.failure;
  }

  /** The open store, opening (or retrying) it first when needed; one attempt at a time. */
  get(): Promise<Store> {
    if (this.store) return Promise.resolve(this.store);
    this.opening ??= this.openStore().then(
      (store) => {
        this.store = store;
        this.failure = undefined;
        this.opening = undefined;
        this.emit('state', { open: true, storePath: this.storePath });
        return store;
      },
      (err: unknown) => {
        this.failure = asUnavailable(err, this.storePath);
        this.opening = undefined;
        this.emit('state', { open: false, error: this.failure });
        throw this.failure;
      },
    );
    return this.opening;
  }

  /** True while an attempt to create or open the store runs. */
  get isOpening(): boolean {
    return this.opening !== undefined;
  }

  /**
   * The open store for a read, without starting a retry: a read waits at most `waitMs` for an attempt in
   * flight (a first start creating and labelling a store), else answers with the reason at once.
   */
  async forRead(waitMs = 10_000): Promise<Store> {
    if (this.store) return this.store;
    if (this.opening) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((r) => {
        timer = setTimeout(r, waitMs, undefined);
      });
      const store = await Promise.race([this.opening.catch(() => undefined), late]).finally(() =>
        clearTimeout(timer),
      );
      if (store) return store;
      if (this.isOpening) {
        throw createError(
          'StoreUnavailable',
          `the image store ${this.storePath} is still being created or opened; try again in a moment`,
          { path: this.storePath, reason: 'opening' },
        );
      }
    }
    throw (
      this.failure ??
      createError('StoreUnavailable', `the image store ${this.storePath} has not been opened yet`, {
        path: this.storePath,
        reason: 'not opened',
      })
    );
  }

  /** Closes the store (shutdown). */
  close(): void {
    this.store?.close();
    this.store = undefined;
  }
}
