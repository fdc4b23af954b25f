// What the page knows of the daemon, kept outside React so that nothing is read or subscribed to twice: the
// StorageClient (the one door to cockpit.js), the deployments, images and GC reasons read again whenever the
// daemon says its store or deployments changed, the job list following every client's jobs, and the daemon's
// owner changes. React reads it with useSyncExternalStore (hooks/use-daemon.ts); each change is a new state
// object, and the lists in it change identity only when they were read again.
import type { BoundImage, Deployment, ImageInfo, Job, PreviewEntry } from './model.js';
import { StorageClient, type StorageError, toStorageError } from './storage.js';

/** Everything the sections show about the daemon. */
export interface DaemonState {
  /** The first read is over (it may have failed: loadError). */
  loaded: boolean;
  /** Why the store cannot be read, in words; null when it can. */
  loadError: string | null;
  deployments: Deployment[];
  bound: BoundImage[];
  images: ImageInfo[];
  /** PreviewGarbageCollect as of the last read: why each image stays or goes. */
  preview: PreviewEntry[];
  /** The daemon's Version and StorePath properties, once read. */
  info: { version: string; storePath: string } | null;
  /** Every job object of the daemon, whoever started it, newest first. */
  jobs: Job[];
  /** How many times org.bootc.Storage changed hands since the page started (a new daemon, new jobs). */
  generation: number;
}

/** Whether the store was read, and why not: what a section shows in place of an empty list. */
export type ReadState = Pick<DaemonState, 'loaded' | 'loadError'>;

const INITIAL: DaemonState = {
  loaded: false,
  loadError: null,
  deployments: [],
  bound: [],
  images: [],
  preview: [],
  info: null,
  jobs: [],
  generation: 0,
};

/** The daemon's state for the page, and the StorageClient its sections act through. */
export class DaemonStore {
  readonly storage: StorageClient;
  private state = INITIAL;
  private readonly listeners = new Set<() => void>();
  private started = false;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  /** The unique bus name owning org.bootc.Storage (undefined until the first report, null when unowned). */
  private owner: string | null | undefined = undefined;

  constructor() {
    this.storage = new StorageClient({
      jobs: () => this.set({ jobs: this.storage.jobs.list() }),
      storeChanged: () => void this.refresh(),
      owner: (owner) => this.ownerChanged(owner),
    });
  }

  /** For useSyncExternalStore: calls `listener` after every change; returns how to stop. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** For useSyncExternalStore: the current state (the same object until something changes). */
  readonly getState = (): DaemonState => this.state;

  /** Follows the jobs and reads everything, once; `report` hears why the job signals cannot be followed. */
  async start(report: (err: StorageError) => void): Promise<void> {
    if (this.started) return;
    this.started = true;
    void this.readProperties();
    await Promise.all([
      this.storage.start().catch((err: unknown) => report(toStorageError(err))),
      this.refresh(),
    ]);
  }

  /** Reads deployments, bound images, images and the GC reasons; coalesces calls made while one runs. */
  refresh = (): Promise<void> => {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          const snap = await this.storage.snapshot();
          this.set({ ...snap, loadError: null, loaded: true });
        } catch (err) {
          this.set({ loadError: toStorageError(err).message, loaded: true });
        }
      } while (this.refreshAgain);
      this.refreshing = null;
    })();
    return this.refreshing;
  };

  private async readProperties(): Promise<void> {
    try {
      this.set({ info: await this.storage.properties() });
    } catch {
      // The load error (refresh) says why.
    }
  }

  /**
   * The daemon's bus name changed hands. Its first report only says who owns it now (start() reads everything
   * anyway); later, a daemon that exited took its job objects with it, and a new one is read afresh.
   */
  private ownerChanged(owner: string | null): void {
    const previous = this.owner;
    this.owner = owner;
    if (previous === undefined || previous === owner) return;
    this.storage.jobs.clear();
    this.set({ jobs: [], generation: this.state.generation + 1 });
    if (owner) {
      void this.storage.loadJobs().catch(() => undefined);
      void this.storage.keepInformed();
      void this.refresh();
      void this.readProperties();
    }
  }

  private set(change: Partial<DaemonState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener();
  }
}
