// Publishes jobs as D-Bus objects: /org/bootc/Storage/job/<id> from the moment a job is queued until its
// retention ends (core: an ended job stays readable for late readers). JobNew and InterfacesAdded announce it,
// PropertiesChanged follows it (state at once, progress throttled by the core), JobRemoved says it ended, and
// InterfacesRemoved says its object is gone. GetManagedObjects lists every job object with its properties.

import dbus from 'dbus-next';
import { CHANGE_EVENT_NAMES, type ChangeKind } from '../../core/caller.js';
import { END_FIELD_NAMES } from '../../core/job-fields.js';
import { type Job, type JobResultName, PROGRESS_FIELDS, watchJob } from '../../core/job-view.js';
import type { StorageService } from '../../core/storage-service.js';
import { JOB_IFACE, JOB_PROPERTIES, STORAGE_IFACE, STORAGE_PATH } from './members.js';
import { jobPath, jobProps } from './wire.js';

const { Message, Variant } = dbus;
const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
export const OBJECT_MANAGER_IFACE = 'org.freedesktop.DBus.ObjectManager';
/** What a job's end changes: its state, its figures, and how it ended (the fields the one list marks `end`). */
const END_FIELDS = ['state', ...PROGRESS_FIELDS, ...END_FIELD_NAMES];

export class JobObjects {
  /** Per job, the function that stops watching it (core/job-view.ts). */
  private readonly watches = new Map<number, () => void>();

  constructor(
    private readonly bus: dbus.MessageBus,
    private readonly service: StorageService,
  ) {}

  start(): void {
    this.service.onJobEvents(
      (job) => this.onNew(job),
      (job, result) => this.onEnded(job, result),
      (job) => this.onExpired(job),
    );
  }

  /** GetManagedObjects: every job object, with the Job interface's properties. */
  managedObjects(): Record<string, Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const job of this.service.allJobs()) out[jobPath(job.id)] = { [JOB_IFACE]: this.variants(job) };
    return out;
  }

  /** The child nodes Introspect lists below a path. */
  childrenOf(path: string): string[] {
    if (path === '/') return ['org'];
    if (path === '/org') return ['bootc'];
    if (path === '/org/bootc') return ['Storage'];
    const jobs = this.service.allJobs();
    if (path === STORAGE_PATH) return jobs.length > 0 ? ['job'] : [];
    if (path === `${STORAGE_PATH}/job`) return jobs.map((j) => String(j.id));
    return [];
  }

  /** Every property of a job as a variant. */
  variants(job: Job): Record<string, unknown> {
    const values = jobProps(job);
    const all: Record<string, unknown> = {};
    for (const [name, def] of Object.entries(JOB_PROPERTIES)) all[name] = new Variant(def.type, values[name]);
    return all;
  }

  private onNew(job: Job) {
    this.signal(STORAGE_PATH, STORAGE_IFACE, 'JobNew', 'uo', [job.id, jobPath(job.id)]);
    this.signal(STORAGE_PATH, OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}', [
      jobPath(job.id),
      { [JOB_IFACE]: this.variants(job) },
    ]);
    // The core's one throttle (core/job-view.ts): state at once, progress at most every 100 ms.
    this.watches.set(
      job.id,
      watchJob(job, (names) => this.emitChanged(job, [...names])),
    );
  }

  private onEnded(job: Job, result: JobResultName) {
    // The final State went out already, with everything the end sets (emitChanged).
    this.watches.get(job.id)?.();
    this.watches.delete(job.id);
    this.signal(STORAGE_PATH, STORAGE_IFACE, 'JobRemoved', 'uos', [job.id, jobPath(job.id), result]);
  }

  private onExpired(job: Job) {
    this.signal(STORAGE_PATH, OBJECT_MANAGER_IFACE, 'InterfacesRemoved', 'oas', [
      jobPath(job.id),
      [JOB_IFACE],
    ]);
  }

  private emitChanged(job: Job, names: string[]) {
    // A final State comes in one signal with the figures, Result and ErrorName: a watcher that stops at the
    // final State has it all.
    if (job.finished && names.includes('state')) names = END_FIELDS;
    const all = this.variants(job);
    const changed: Record<string, unknown> = {};
    for (const n of names) {
      const prop = n.charAt(0).toUpperCase() + n.slice(1);
      if (Object.hasOwn(all, prop)) changed[prop] = all[prop];
    }
    if (Object.keys(changed).length > 0) {
      this.signal(jobPath(job.id), PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as', [JOB_IFACE, changed, []]);
    }
  }

  /** A change of the store or the deployments, as its signal (no arguments: "look again"). */
  signalChange(kind: ChangeKind): void {
    this.signal(STORAGE_PATH, STORAGE_IFACE, CHANGE_EVENT_NAMES[kind], '', []);
  }

  private signal(path: string, iface: string, name: string, signature: string, body: unknown[]) {
    this.bus.send(Message.newSignal(path, iface, name, signature, body));
  }
}
