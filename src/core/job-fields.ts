// Every field of a job, defined once: its name in core/job-view.ts's projection (and on Varlink), its
// property on D-Bus (the name capitalized), its type and its doc. Both transports publish exactly these.

import type { Field } from './contract.js';
import type { JobView } from './job-view.js';

const u = { dbus: 'u', varlink: 'int' } as const;
const t = { dbus: 't', varlink: 'int' } as const;
const s = { dbus: 's', varlink: 'string' } as const;

/** A job field: `name` is its key in JobView. */
export interface JobField extends Field {
  name: keyof JobView;
}

export const JOB_FIELDS: readonly JobField[] = [
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
    type: { dbus: 'd', varlink: 'float' },
    doc: 'Fraction done, 0.0 to 1.0, or -1.0 while unknown (always -1.0 for remove and prune).',
  },
  { name: 'bytesDone', type: t, doc: 'Bytes transferred so far; 0 when not known.' },
  { name: 'bytesTotal', type: t, doc: 'Bytes expected in all; 0 when not known (yet).' },
  {
    name: 'layersDone',
    type: u,
    doc: 'Layers podman has started copying (each layer moves it once); 0 when not known.',
  },
  {
    name: 'layersTotal',
    type: u,
    doc: "Layers the image has, from the registry's manifest; 0 when not known (or with the daemon's progress totals turned off).",
  },
  {
    name: 'attempt',
    type: u,
    doc: 'Which try of the current pull this is: 1, then 2, 3… while transient registry failures are retried.',
  },
  { name: 'itemsDone', type: u, doc: 'For a job of several images (sync): the images finished so far.' },
  {
    name: 'itemsTotal',
    type: u,
    doc: 'For a job of several images (sync): the images it works on; 0 otherwise.',
  },
  {
    name: 'item',
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
    type: { dbus: 'v', varlink: 'object' },
    optional: true,
    doc: 'Once the job is done, what the blocking method would have returned: on D-Bus its out argument (b fetched for pull, as of removed IDs for remove, prune and gc, as of pulled images for sync; "" for pull-from-host and before the end), on Varlink its output fields ({"fetched": true}, {"removedIds": [...]}…; absent before the end).',
  },
  {
    name: 'errorName',
    type: s,
    doc: 'Once the job failed or was canceled, the error a blocking call would have answered with, named as on this transport (org.bootc.Storage.Error.PullFailed on D-Bus, org.bootc.Storage.PullFailed on Varlink); "" otherwise.',
  },
  { name: 'errorMessage', type: s, doc: 'That error\'s human-readable message; "" otherwise.' },
];

/** A job field's D-Bus property name. */
export function propertyName(f: Field): string {
  return f.name.charAt(0).toUpperCase() + f.name.slice(1);
}

/** The job fields a streaming call (Varlink Pull with "more") sends in each progress reply, after `job`. */
export const STREAMED_FIELDS: readonly JobField[] = JOB_FIELDS.filter((f) =>
  ['progress', 'bytesDone', 'bytesTotal', 'layersDone', 'layersTotal', 'attempt'].includes(f.name),
);
