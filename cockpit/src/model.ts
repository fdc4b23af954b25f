// What the page knows about the store, as plain data: the D-Bus replies of org.bootc.Storage turned into
// records, the job objects kept up to date from ObjectManager and PropertiesChanged, the error names the daemon
// answers with turned into words, and the numbers formatted. No DOM and no cockpit.js here, so it is the same
// code in the page and in a test under Node.
import { JOB_FIELDS, type JobFieldValues, propertyName } from '../../src/jobs/job-fields.js';

/** A D-Bus variant as cockpit.js represents it. */
export interface Variant {
  t: string;
  v: unknown;
}

export interface Deployment {
  /** `<checksum>.<serial>` */
  deployment: string;
  /** `booted`, `staged`, `rollback`, `other`, or `pending` (an update fetched, not deployed; its commit). */
  role: string;
  hostImage: string;
}

export interface BoundImage {
  image: string;
  deployment: string;
  /** The `bound-images.d` link that binds it, relative to the deployment. */
  file: string;
  present: boolean;
}

export interface ImageInfo {
  id: string;
  names: string[];
  digest: string;
  size: number;
  /** Seconds since the epoch. */
  created: number;
}

export interface PreviewEntry {
  id: string;
  kept: boolean;
  reason: string;
}

export const FINAL_STATES = ['done', 'failed', 'canceled'] as const;

/**
 * A job as its D-Bus object says: every field of the daemon's one list (src/jobs/job-fields.ts, a module of
 * plain data with no imports, bundled into the page), plus its object path. `result` is what the blocking
 * call returns, once done (unwrapped from its variant).
 */
export type Job = { path: string } & JobFieldValues;

export const BUS_NAME = 'org.bootc.Storage';
export const STORAGE_PATH = '/org/bootc/Storage';
export const STORAGE_IFACE = 'org.bootc.Storage';
export const JOB_IFACE = 'org.bootc.Storage.Job';
export const JOB_PATH_PREFIX = '/org/bootc/Storage/job/';
export const ERROR_PREFIX = 'org.bootc.Storage.Error.';

const isVariant = (v: unknown): v is Variant =>
  typeof v === 'object' && v !== null && 't' in v && 'v' in v && typeof (v as Variant).t === 'string';

/** A variant's value; a property of type `v` (Result) arrives as a variant in a variant. */
export function unwrap(v: unknown): unknown {
  let value = v;
  while (isVariant(value)) value = value.v;
  return value;
}

const rows = (reply: unknown[]): unknown[][] => (Array.isArray(reply[0]) ? (reply[0] as unknown[][]) : []);
const str = (v: unknown) => (typeof v === 'string' ? v : String(v ?? ''));
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0));

/** ListDeployments() → a(sss) */
export function parseDeployments(reply: unknown[]): Deployment[] {
  return rows(reply).map(([deployment, role, hostImage]) => ({
    deployment: str(deployment),
    role: str(role),
    hostImage: str(hostImage),
  }));
}

/** ListBoundImages() → a(sssb) */
export function parseBoundImages(reply: unknown[]): BoundImage[] {
  return rows(reply).map(([image, deployment, file, present]) => ({
    image: str(image),
    deployment: str(deployment),
    file: str(file),
    present: present === true,
  }));
}

/** List() → a(sasstx) */
export function parseImages(reply: unknown[]): ImageInfo[] {
  return rows(reply).map(([id, names, digest, size, created]) => ({
    id: str(id),
    names: Array.isArray(names) ? names.map(str) : [],
    digest: str(digest),
    size: num(size),
    created: num(created),
  }));
}

/** PreviewGarbageCollect() → a(sbs) */
export function parsePreview(reply: unknown[]): PreviewEntry[] {
  return rows(reply).map(([id, kept, reason]) => ({ id: str(id), kept: kept === true, reason: str(reason) }));
}

/** The (id, path) reply of every Start method. */
export function parseHandle(reply: unknown[]): { id: number; path: string } {
  return { id: num(reply[0]), path: str(reply[1]) };
}

/** Each job property's field, by its D-Bus name. */
const FIELD_OF_PROPERTY = new Map(JOB_FIELDS.map((f) => [propertyName(f), f]));

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
    const v = unwrap(value);
    fields[f.name] = f.type.dbus === 'v' ? v : f.type.dbus === 's' ? str(v) : num(v);
  }
  return next;
}

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

/** The daemon's error names, in words (README: errors; the freedesktop names for authorization). */
const ERROR_LABELS: Record<string, string> = {
  InvalidReference: 'Invalid reference',
  InvalidArgument: 'Invalid argument',
  NotFound: 'Not found',
  PullFailed: 'Pull failed',
  Canceled: 'Canceled',
  Busy: 'Busy',
  StorageFailure: 'Storage failure',
  StoreUnavailable: 'Store unavailable',
  ReadOnlyFilesystem: 'Read-only file system',
  SysrootLocked: 'Sysroot locked',
  NoRoots: 'No roots',
  InvalidBoundImage: 'Invalid bound image',
};
const FREEDESKTOP_LABELS: Record<string, string> = {
  'org.freedesktop.DBus.Error.AccessDenied': 'Not authorized',
  'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired': 'Authentication required',
  'org.freedesktop.DBus.Error.ServiceUnknown': 'bootc-storaged is not running',
  'org.freedesktop.DBus.Error.NameHasNoOwner': 'bootc-storaged is not running',
  'org.freedesktop.DBus.Error.NoReply': 'No reply from bootc-storaged',
  'org.freedesktop.DBus.Error.Timeout': 'No reply from bootc-storaged',
  'org.freedesktop.DBus.Error.UnknownMethod': 'Not supported by this bootc-storaged',
};

/** An error name in words: `org.bootc.Storage.Error.InvalidReference` → `Invalid reference`. */
export function errorLabel(name: string): string {
  if (name.startsWith(ERROR_PREFIX)) {
    const short = name.slice(ERROR_PREFIX.length);
    return ERROR_LABELS[short] ?? short.replace(/([a-z])([A-Z])/g, '$1 $2');
  }
  return FREEDESKTOP_LABELS[name] ?? (name || 'Error');
}

/** `Label: message` for a D-Bus error (name and message as the daemon sent them). */
export function describeError(name: string, message: string): string {
  const label = errorLabel(name);
  const text = message.trim();
  return text && text !== label ? `${label}: ${text}` : label;
}

/** Bytes in decimal units, as Cockpit shows sizes: `1.5 MB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = n;
  let unit = 'B';
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/** How long ago `seconds` (since the epoch) was, relative to `now` (ms): `3 days ago`. */
export function formatAge(seconds: number, now: number): string {
  if (!seconds) return '';
  const diff = Math.round(now / 1000 - seconds);
  if (diff < 60) return 'just now';
  const steps: [number, string][] = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
    [86400 * 30, 'month'],
    [86400 * 365, 'year'],
  ];
  let chosen = steps[0]!;
  for (const step of steps) if (diff >= step[0]) chosen = step;
  const count = Math.floor(diff / chosen[0]);
  return `${count} ${chosen[1]}${count === 1 ? '' : 's'} ago`;
}

/** `<checksum>.<serial>` shortened for display: the first 12 hex digits and the serial. */
export function shortDeployment(deployment: string): string {
  const m = /^([0-9a-f]{12})[0-9a-f]{52}(?:\.(\d+))?$/.exec(deployment);
  return m ? `${m[1]}${m[2] === undefined ? '' : `.${m[2]}`}` : deployment;
}

/** An image ID (64 hex) as podman shows it: its first 12 digits. */
export const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Why an image is in the store: each binding deployment, the host image it is, or nothing. */
export type Usage =
  | { kind: 'bound'; deployment: string; file: string }
  | { kind: 'host'; deployment: string }
  | { kind: 'unused' };

const BOUND_REASON = /^bound by (\S+) \((.*)\)$/;
const HOST_REASON = /^host image of (\S+)$/;

/** A PreviewGarbageCollect reason names every deployment that needs the image, separated by `; `. */
export const splitReasons = (reason: string) => reason.split('; ').filter((r) => r !== '');

/** Reads one PreviewGarbageCollect reason. */
export function parseReason(reason: string): Usage | undefined {
  const bound = BOUND_REASON.exec(reason);
  if (bound) return { kind: 'bound', deployment: bound[1]!, file: bound[2]! };
  const host = HOST_REASON.exec(reason);
  if (host) return { kind: 'host', deployment: host[1]! };
  if (reason === 'referenced by no deployment') return { kind: 'unused' };
  return undefined;
}

/**
 * Who needs each image (by ID): the bound images whose reference is one of its names, and the reason the GC
 * preview gives. An image nothing needs gets one `unused`.
 */
export function usagesByImage(
  images: ImageInfo[],
  bound: BoundImage[],
  preview: PreviewEntry[],
): Map<string, Usage[]> {
  const out = new Map<string, Usage[]>();
  const key = (u: Usage) => (u.kind === 'unused' ? 'unused' : `${u.kind} ${u.deployment}`);
  for (const image of images) {
    const list: Usage[] = [];
    const seen = new Set<string>();
    const add = (u: Usage) => {
      if (!seen.has(key(u))) {
        seen.add(key(u));
        list.push(u);
      }
    };
    for (const b of bound) {
      if (image.names.includes(b.image)) add({ kind: 'bound', deployment: b.deployment, file: b.file });
    }
    const entry = preview.find((p) => p.id === image.id);
    const reasons = entry ? splitReasons(entry.reason).map(parseReason) : [];
    for (const r of reasons) if (r && r.kind !== 'unused') add(r);
    if (list.length === 0 && (entry?.kept === false || reasons.some((r) => r?.kind === 'unused'))) {
      add({ kind: 'unused' });
    }
    out.set(image.id, list);
  }
  return out;
}

const KIND_TITLES: Record<string, string> = {
  pull: 'Pull',
  'pull-from-host': 'Copy from host',
  remove: 'Remove',
  prune: 'Prune',
  gc: 'Garbage collection',
  sync: 'Pull bound images',
};

/** What a job does, in words: `Pull quay.io/x:1`, `Pull bound images of 0123456789ab.0`. */
export function jobTitle(job: Job): string {
  const kind = KIND_TITLES[job.kind] ?? job.kind;
  if (job.kind === 'gc') return kind;
  if (job.kind === 'sync') return job.target ? `${kind} of ${shortDeployment(job.target)}` : `${kind}`;
  const target = job.target.replace(/\b(?:sha256:)?([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1');
  return target ? `${kind} ${target}` : kind;
}

/** Percent done (0–100), or undefined while unknown; 100 once done. */
export function jobPercent(job: Job): number | undefined {
  if (job.state === 'done') return 100;
  if (job.progress < 0 || !Number.isFinite(job.progress)) return undefined;
  return Math.max(0, Math.min(100, Math.floor(job.progress * 100)));
}

const STATE_WORDS: Record<string, string> = {
  queued: 'Queued',
  running: 'Running',
  blocked: 'Waiting for the sysroot lock',
  done: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
};
export const stateWord = (state: string) => STATE_WORDS[state] ?? state;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The line under a job's bar: bytes, layers, items, attempts; or how it ended. */
export function jobDetail(job: Job): string {
  if (job.state === 'failed' || (job.state === 'canceled' && job.errorName)) {
    return describeError(job.errorName, job.errorMessage);
  }
  if (job.state === 'done') return resultText(job);
  const parts: string[] = [];
  if (job.itemsTotal > 0) {
    const current = Math.min(job.itemsDone + 1, job.itemsTotal);
    parts.push(
      job.item
        ? `image ${current} of ${job.itemsTotal}: ${job.item}`
        : `${job.itemsDone} of ${job.itemsTotal}`,
    );
  }
  if (job.bytesTotal > 0) parts.push(`${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)}`);
  else if (job.bytesDone > 0) parts.push(formatBytes(job.bytesDone));
  if (job.layersTotal > 0)
    parts.push(`layer ${Math.min(job.layersDone, job.layersTotal)} of ${job.layersTotal}`);
  else if (job.layersDone > 0) parts.push(plural(job.layersDone, 'layer'));
  if (job.attempt > 1) parts.push(`attempt ${job.attempt}`);
  return parts.join(' · ');
}

/** A done job's Result in words. */
export function resultText(job: Job): string {
  const r = job.result;
  switch (job.kind) {
    case 'pull':
      return r === true ? 'Pulled' : r === false ? 'Already present' : 'Done';
    case 'sync':
      return Array.isArray(r)
        ? r.length
          ? `Pulled ${plural(r.length, 'image')}`
          : 'Nothing to pull'
        : 'Done';
    case 'remove':
    case 'prune':
    case 'gc':
      return Array.isArray(r) ? `Removed ${plural(r.length, 'image')}` : 'Done';
    default:
      return 'Done';
  }
}

/** Whether a job can still be canceled. */
export const cancelable = (job: Job) => ['queued', 'running', 'blocked'].includes(job.state);
