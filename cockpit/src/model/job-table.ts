// The job objects of the daemon as the page keeps them: every field of the daemon's one list
// (src/jobs/job-fields.ts, plain data bundled in), filled from GetManagedObjects and kept up to date from
// InterfacesAdded, InterfacesRemoved and PropertiesChanged.
import {
  FIELD_OF_PROPERTY,
  JOB_FIELDS,
  type JobFieldValues,
  jobFieldValue,
} from '../../../src/jobs/job-fields.js';
import { JOB_IFACE, JOB_PATH_PREFIX, unwrap } from './records.js';

export const FINAL_STATES = ['done', 'failed', 'canceled'] as const;

/**
 * A job as its D-Bus object says: every field of the daemon's one list (src/jobs/job-fields.ts, a module of
 * plain data with no imports, bundled into the page), plus its object path. `result` is what the blocking
 * call returns, once done (unwrapped from its variant).
 */
export type Job = { path: string } & JobFieldValues;

function emptyJob(path: string): Job {
  const tail = path.startsWith(JOB_PATH_PREFIX) ? Number(path.slice(JOB_PATH_PREFIX.length)) : 0;
  const job: Record<string, unknown> = { path };
  for (const f of JOB_FIELDS) job[f.name] = f.type.dbus === 's' || f.type.dbus === 'v' ? '' : 0;
  return { ...(job as Job), id: Number.isFinite(tail) ? tail : 0, state: 'queued', progress: -1 };
}

/** A job with `props` (a{sv} of org.bootc.Storage.Job, all or changed ones) applied; unknown names are ignored. */
export function applyJobProps(job: Job | undefined, path: string, props: Record<string, unknown>): Job {
  const next = { ...(job ?? emptyJob(path)) };
  const fields = next as Record<string, unknown>;
  for (const [name, value] of Object.entries(props)) {
    const f = FIELD_OF_PROPERTY.get(name);
    if (!f) continue;
    fields[f.name] = jobFieldValue(f, unwrap(value));
  }
  return next;
}

/** Whether a job has ended: done, failed or canceled. */
export const isFinal = (job: Job) => (FINAL_STATES as readonly string[]).includes(job.state);

/**
 * The jobs the page shows, kept from the ObjectManager: GetManagedObjects fills it, InterfacesAdded and
 * InterfacesRemoved add and drop objects, PropertiesChanged updates them. Each method says whether something
 * changed.
 */
export class JobTable {
  private jobs = new Map<string, Job>();

  /** GetManagedObjects() → a{oa{sa{sv}}}: every job object now (a full replacement). */
  load(managed: Record<string, Record<string, Record<string, unknown>>>): void {
    const next = new Map<string, Job>();
    for (const [path, ifaces] of Object.entries(managed)) {
      const props = ifaces[JOB_IFACE];
      if (props) next.set(path, applyJobProps(this.jobs.get(path), path, props));
    }
    this.jobs = next;
  }

  /** InterfacesAdded(o, a{sa{sv}}) */
  added(path: string, ifaces: Record<string, Record<string, unknown>>): boolean {
    const props = ifaces[JOB_IFACE];
    if (!props) return false;
    this.jobs.set(path, applyJobProps(this.jobs.get(path), path, props));
    return true;
  }

  /** InterfacesRemoved(o, as) */
  removed(path: string, ifaces: string[]): boolean {
    if (!ifaces.includes(JOB_IFACE)) return false;
    return this.jobs.delete(path);
  }

  /** PropertiesChanged(s, a{sv}, as) on a job object; false when the object is not known (yet). */
  changed(path: string, iface: string, props: Record<string, unknown>): boolean {
    const job = this.jobs.get(path);
    if (iface !== JOB_IFACE || !job) return false;
    this.jobs.set(path, applyJobProps(job, path, props));
    return true;
  }

  has(path: string): boolean {
    return this.jobs.has(path);
  }

  get(path: string): Job | undefined {
    return this.jobs.get(path);
  }

  clear(): void {
    this.jobs.clear();
  }

  /** Newest first. */
  list(): Job[] {
    return [...this.jobs.values()].sort((a, b) => b.id - a.id);
  }
}
