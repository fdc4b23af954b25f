// The D-Bus replies of org.bootc.Storage as plain records (what cockpit.js hands over, unwrapped), and the names
// of the daemon's bus, objects and interfaces. No DOM, no React, no cockpit.js.

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
/** A reply field as a string (cockpit.js gives strings; anything else is stringified). */
export const str = (v: unknown) => (typeof v === 'string' ? v : String(v ?? ''));
/** A reply field as a number (cockpit.js gives numbers for u, t and d). */
export const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0));

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
