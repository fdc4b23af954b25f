// Every field of a job, defined once: its name (in the job's snapshot, on Varlink, and capitalized as the
// D-Bus property), its wire types, its doc, and which subsets it belongs to: `progress` (changes while the job
// runs; throttled), `streamed` (sent in each Varlink progress reply), `end` (set when the job ends, not part
// of its snapshot). The job's snapshot type, the progress fields a job's work reports, the D-Bus properties,
// the Varlink Job type and the CLI's view of a job all follow from this list. It imports nothing, so every
// layer (the CLI included) can read it.

/** A field's type on each wire: D-Bus signature and Varlink type. */
export interface JobFieldType {
  readonly dbus: string;
  readonly varlink: string;
}

/** One job field as the list defines it. */
export interface JobFieldDef {
  readonly name: string;
  readonly type: JobFieldType;
  readonly doc: string;
  /** Varlink: the field may be absent. */
  readonly optional?: true;
  readonly progress?: true;
  readonly streamed?: true;
  readonly end?: true;
}

const u = { dbus: 'u', varlink: 'int' } as const;
const t = { dbus: 't', varlink: 'int' } as const;
const s = { dbus: 's', varlink: 'string' } as const;

export const JOB_FIELDS = [
  {
    name: 'id',
    type: u,
    doc: "The job's number (the last element of its D-Bus object path); ids start at 1 and are never reused while the daemon runs.",
  },
  {
    name: 'kind',
    type: s,
    doc: 'What the job does, the method that started it: "pull" (Pull), "pull-from-host" (PullFromHost), "remove" (Remove), "prune" (Prune), "gc" (GarbageCollect) or "sync" (SyncBoundImages).',
  },
  {
    name: 'target',
    type: s,
    doc: 'What the job works on: for pull and pull-from-host the normalized reference; for remove the requested entries and for prune the roots, separated by single spaces (at most eight, then "(+N more)"); for gc the sysroot; for sync the deployment, or "" for every deployment.',
  },
  {
    name: 'state',
    type: s,
    doc: '"queued", "running", "blocked" (running, but waiting for the ostree sysroot lock while bootc or ostree deploys), then one of the final states "done", "failed" or "canceled".',
  },
  {
    name: 'progress',
    progress: true,
    streamed: true,
    type: { dbus: 'd', varlink: 'float' },
    doc: 'Fraction done, 0.0 to 1.0, or -1.0 while unknown (always -1.0 for remove and prune).',
  },
  {
    name: 'bytesDone',
    progress: true,
    streamed: true,
    type: t,
    doc: 'Bytes transferred so far; 0 when not known.',
  },
  {
    name: 'bytesTotal',
    progress: true,
    streamed: true,
    type: t,
    doc: 'Bytes expected in all; 0 when not known (yet).',
  },
  {
    name: 'layersDone',
    progress: true,
    streamed: true,
    type: u,
    doc: 'Layers podman has started copying (each layer moves it once); 0 when not known.',
  },
  {
    name: 'layersTotal',
    progress: true,
    streamed: true,
    type: u,
    doc: "Layers the image has, from the registry's manifest; 0 when not known (or with the daemon's progress totals turned off).",
  },
  {
    name: 'attempt',
    progress: true,
    streamed: true,
    type: u,
    doc: 'Which try of the current pull this is: 1, then 2, 3… while transient registry failures are retried.',
  },
  {
    name: 'itemsDone',
    progress: true,
    type: u,
    doc: 'For a job of several images (sync): the images finished so far.',
  },
  {
    name: 'itemsTotal',
    progress: true,
    type: u,
    doc: 'For a job of several images (sync): the images it works on; 0 otherwise.',
  },
  {
    name: 'item',
    progress: true,
    type: s,
    doc: 'For a job of several images (sync): the image being worked on; "" otherwise.',
  },
  {
    name: 'owner',
    type: u,
    doc: 'uid of the caller that started the job (over Varlink, its SO_PEERCRED uid); it may cancel the job without cancel-foreign.',
  },
  {
    name: 'result',
    end: true,
    type: { dbus: 'v', varlink: 'object' },
    optional: true,
    doc: 'Once the job is done, what the blocking method would have returned: on D-Bus its out argument (b fetched for pull, as of removed IDs for remove, prune and gc, as of pulled images for sync; "" for pull-from-host and before the end), on Varlink its output fields ({"fetched": true}, {"removedIds": [...]}…; absent before the end).',
  },
  {
    name: 'errorName',
    end: true,
    type: s,
    doc: 'Once the job failed or was canceled, the error a blocking call would have answered with, named as on this transport (org.bootc.Storage.Error.PullFailed on D-Bus, org.bootc.Storage.PullFailed on Varlink); "" otherwise.',
  },
  { name: 'errorMessage', end: true, type: s, doc: 'That error\'s human-readable message; "" otherwise.' },
] as const satisfies readonly JobFieldDef[];

type Fields = (typeof JOB_FIELDS)[number];
/** Every job field's name. */
export type JobFieldName = Fields['name'];
/** The value a wire type carries: text for strings, anything in a variant, a number otherwise. */
type ValueOf<T> = T extends { dbus: 's' } ? string : T extends { dbus: 'v' } ? unknown : number;
/** A job's fields with their values' types. */
export type JobFieldValues = { [F in Fields as F['name']]: ValueOf<F['type']> };
/** The fields a job's work reports while it runs. */
export type ProgressFieldName = Extract<Fields, { progress: true }>['name'];
/** The fields set only when the job ends. */
export type EndFieldName = Extract<Fields, { end: true }>['name'];

/** A job field's D-Bus property name: its name capitalized. */
export function propertyName(f: { name: string }): string {
  return f.name.charAt(0).toUpperCase() + f.name.slice(1);
}

/** Each job field by its D-Bus property name: how a client (the CLI, the page) reads GetAll and PropertiesChanged. */
export const FIELD_OF_PROPERTY: ReadonlyMap<string, (typeof JOB_FIELDS)[number]> = new Map(
  JOB_FIELDS.map((f) => [propertyName(f), f]),
);

/**
 * A property's value (already out of its variant) as a client's job record holds it: Result's content as is,
 * text for strings, a number for counts (dbus-next gives 64-bit ones as bigint, cockpit.js as numbers).
 */
export function jobFieldValue(field: { type: JobFieldType }, value: unknown): unknown {
  if (field.type.dbus === 'v') return value;
  if (field.type.dbus === 's') return typeof value === 'string' ? value : String(value ?? '');
  return typeof value === 'bigint' ? Number(value) : Number(value ?? 0);
}

/** The fields of a job's snapshot (all but those set at its end), in list order: the Job's own properties. */
export const SNAPSHOT_FIELD_NAMES: readonly Exclude<JobFieldName, EndFieldName>[] = JOB_FIELDS.flatMap((f) =>
  'end' in f ? [] : [f.name],
);

/** The fields set only when a job ends (its result and error), in list order. */
export const END_FIELD_NAMES: readonly EndFieldName[] = JOB_FIELDS.flatMap((f) =>
  'end' in f ? [f.name] : [],
);

/** The progress fields, in list order. */
export const PROGRESS_FIELD_NAMES: readonly ProgressFieldName[] = JOB_FIELDS.flatMap((f) =>
  'progress' in f ? [f.name] : [],
);
