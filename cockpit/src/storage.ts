// org.bootc.Storage through cockpit.js's D-Bus client, and nothing else. Reads go through a client without
// superuser and never ask for a password (no interactive flag); writes go through a client with
// `superuser: 'try'` (the session's admin access, so polkit sees root), which may ask. Jobs are followed the
// ObjectManager way: GetManagedObjects once, then InterfacesAdded/InterfacesRemoved on /org/bootc/Storage and
// PropertiesChanged on the job objects. Nothing is polled.
//
// Whose signals reach the page: any local user may send a signal straight to the bridge's unique name (a match
// rule's sender= filters broadcasts only), but cockpit-bridge hands a channel opened with a name only the
// signals of that name's current owner, so the page needs no sender check of its own. Debian 12's bridge
// (cockpit 287, written in C) subscribes with g_dbus_connection_signal_subscribe(sender = the channel's name),
// and GLib delivers such a subscription only what the name's owner sent since the fix of CVE-2024-34397
// (libglib2.0-0 2.74.6-2+deb12u1); the Python bridge of later releases checks the owner itself (filter_owner in
// cockpit/channels/dbus.py). test/browser/forged-signals.test.ts holds this on the real stack: a forged
// PropertiesChanged (a running job "failed" with an attacker's message) and InterfacesAdded, sent as nobody to
// the bridge, reach no subscription in the page and no row of the job list, while the same signals do reach a
// channel opened with the forger's own unique name. Replies need nothing either: the bus daemon passes a reply
// only from the connection the call was routed to (the name's owner).

import {
  type BoundImage,
  BUS_NAME,
  type Deployment,
  describeError,
  type ImageInfo,
  JOB_IFACE,
  JOB_PATH_PREFIX,
  JobTable,
  type PreviewEntry,
  parseBoundImages,
  parseDeployments,
  parseHandle,
  parseImages,
  parsePreview,
  STORAGE_IFACE,
  STORAGE_PATH,
  unwrap,
} from './model.js';

const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/** A failed call, with the words the page shows (`Invalid reference: …`) and the D-Bus error name. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly errorName: string,
  ) {
    super(message);
  }
}

/** Turns what a cockpit.js call rejects with into a StorageError. */
export function toStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as cockpit.DBusError;
  if (e.name) return new StorageError(describeError(e.name, e.message ?? ''), e.name);
  if (e.problem === 'access-denied') return new StorageError('Not authorized', 'access-denied');
  if (e.problem === 'not-found') return new StorageError('bootc-storaged is not running', 'not-found');
  const text = e.problem ? cockpit.message(e) : e.message || String(err);
  return new StorageError(text, e.problem ?? '');
}

export interface StorageEvents {
  /** The job table changed (jobs added, removed or updated). */
  jobs(): void;
  /**
   * A job ended, the daemon came back, or the daemon signalled StoreChanged or DeploymentsChanged (whoever
   * made the change: bootc, ostree, podman by hand): what the page shows may have changed.
   */
  storeChanged(): void;
  /** The daemon's bus name got an owner (a string) or lost it (null). */
  owner(owner: string | null): void;
}

export interface StoreSnapshot {
  deployments: Deployment[];
  bound: BoundImage[];
  images: ImageInfo[];
  preview: PreviewEntry[];
}

export class StorageClient {
  readonly jobs = new JobTable();
  private readonly reader: cockpit.DBusClient;
  private readonly writer: cockpit.DBusClient;
  private subscriptions: cockpit.Subscription[] = [];

  constructor(private readonly events: StorageEvents) {
    this.reader = cockpit.dbus(BUS_NAME, { bus: 'system' });
    this.writer = cockpit.dbus(BUS_NAME, { bus: 'system', superuser: 'try' });
    this.reader.addEventListener('owner', (_event, owner) => this.events.owner(owner));
  }

  /** Subscribes to the job signals, then reads every job object. */
  async start(): Promise<void> {
    const r = this.reader;
    this.subscriptions = [
      r.subscribe({ path: STORAGE_PATH, interface: OBJECT_MANAGER }, (_path, _iface, signal, args) => {
        const [path, what] = args as [string, unknown];
        const changed =
          signal === 'InterfacesAdded'
            ? this.jobs.added(path, what as Record<string, Record<string, unknown>>)
            : signal === 'InterfacesRemoved'
              ? this.jobs.removed(path, what as string[])
              : false;
        if (changed) this.events.jobs();
      }),
      r.subscribe(
        { path_namespace: STORAGE_PATH.concat('/job'), interface: PROPERTIES, member: 'PropertiesChanged' },
        (path, _iface, _signal, args) => {
          const [iface, props] = args as [string, Record<string, unknown>];
          if (this.jobs.changed(path, iface, props)) this.events.jobs();
          else if (iface === JOB_IFACE && !this.jobs.has(path)) void this.readJob(path);
        },
      ),
      r.subscribe({ path: STORAGE_PATH, interface: STORAGE_IFACE, member: 'JobRemoved' }, () =>
        this.events.storeChanged(),
      ),
      ...['StoreChanged', 'DeploymentsChanged'].map((member) =>
        r.subscribe({ path: STORAGE_PATH, interface: STORAGE_IFACE, member }, () =>
          this.events.storeChanged(),
        ),
      ),
    ];
    await Promise.all([this.loadJobs(), this.keepInformed()]);
  }

  /**
   * Subscribe: keeps the daemon running while the page is open, so every change is signalled (it would
   * otherwise exit when idle, and changes while it is down reach nobody). Again whenever a new daemon owns the
   * name; the subscription ends when the page's bus connection does. Best effort: without it the page still
   * refreshes after its own jobs and when the daemon comes back.
   */
  async keepInformed(): Promise<void> {
    await this.call(this.reader, STORAGE_PATH, STORAGE_IFACE, 'Subscribe', '', [], {
      interactive: false,
    }).catch(() => undefined);
  }

  /** GetManagedObjects: every job object and its properties. */
  async loadJobs(): Promise<void> {
    const [managed] = await this.call(
      this.reader,
      STORAGE_PATH,
      OBJECT_MANAGER,
      'GetManagedObjects',
      '',
      [],
      {
        interactive: false,
      },
    );
    this.jobs.load((managed ?? {}) as Record<string, Record<string, Record<string, unknown>>>);
    this.events.jobs();
  }

  /** One job object's properties, for a job the page learnt of before its InterfacesAdded (a Start reply). */
  async readJob(path: string): Promise<void> {
    if (!path.startsWith(JOB_PATH_PREFIX) || this.jobs.has(path)) return;
    try {
      const [props] = await this.call(this.reader, path, PROPERTIES, 'GetAll', 's', [JOB_IFACE], {
        interactive: false,
      });
      if (this.jobs.added(path, { [JOB_IFACE]: (props ?? {}) as Record<string, unknown> }))
        this.events.jobs();
    } catch {
      // Gone already (its retention ended): nothing to show.
    }
  }

  /** The daemon's Version and StorePath properties. */
  async properties(): Promise<{ version: string; storePath: string }> {
    const [props] = await this.call(this.reader, STORAGE_PATH, PROPERTIES, 'GetAll', 's', [STORAGE_IFACE], {
      interactive: false,
    });
    const p = (props ?? {}) as Record<string, unknown>;
    return { version: String(unwrap(p.Version) ?? ''), storePath: String(unwrap(p.StorePath) ?? '') };
  }

  /** Everything the page shows about the store, read at once. */
  async snapshot(): Promise<StoreSnapshot> {
    const [deployments, bound, images, preview] = await Promise.all([
      this.read('ListDeployments'),
      this.read('ListBoundImages'),
      this.read('List'),
      this.read('PreviewGarbageCollect'),
    ]);
    return {
      deployments: parseDeployments(deployments),
      bound: parseBoundImages(bound),
      images: parseImages(images),
      preview: parsePreview(preview),
    };
  }

  async preview(): Promise<PreviewEntry[]> {
    return parsePreview(await this.read('PreviewGarbageCollect'));
  }

  startPull(image: string, policy: string) {
    return this.start_('StartPull', 'ss', [image, policy]);
  }

  startRemove(ids: string[]) {
    return this.start_('StartRemove', 'as', [ids]);
  }

  startGarbageCollect() {
    return this.start_('StartGarbageCollect', 'b', [false]);
  }

  startSyncBoundImages(deployment: string) {
    return this.start_('StartSyncBoundImages', 's', [deployment]);
  }

  async cancel(id: number): Promise<void> {
    await this.call(this.writer, STORAGE_PATH, STORAGE_IFACE, 'CancelJob', 'u', [id], { interactive: true });
  }

  close(): void {
    for (const s of this.subscriptions) s.remove();
    this.reader.close();
    this.writer.close();
  }

  private read(method: string): Promise<unknown[]> {
    return this.call(this.reader, STORAGE_PATH, STORAGE_IFACE, method, '', [], { interactive: false });
  }

  /** A Start method: the job handle; the job object is read at once so it shows before any signal arrives. */
  private async start_(method: string, type: string, args: unknown[]): Promise<{ id: number; path: string }> {
    const handle = parseHandle(
      await this.call(this.writer, STORAGE_PATH, STORAGE_IFACE, method, type, args, { interactive: true }),
    );
    void this.readJob(handle.path);
    return handle;
  }

  private async call(
    client: cockpit.DBusClient,
    path: string,
    iface: string,
    method: string,
    type: string,
    args: unknown[],
    opts: { interactive: boolean },
  ): Promise<unknown[]> {
    try {
      return await client.call(path, iface, method, args, { type, flags: opts.interactive ? 'i' : '' });
    } catch (err) {
      throw toStorageError(err);
    }
  }
}
