// The D-Bus wire contract: the methods come from the operations table (core/operations.ts), the job
// properties from the job fields (core/job-fields.ts); what only D-Bus has (object paths, signals, the
// storage object's properties, Job.Cancel) is defined here. Introspection and the XML file follow from it.

import { type Field, signatureOf } from '../../core/contract.js';
import { JOB_FIELDS, propertyName } from '../../core/job-fields.js';
import { operationsOf } from '../../core/operations.js';
import { BUS_NAME, JOB_IFACE, JOB_PATH_PREFIX, STORAGE_IFACE, STORAGE_PATH } from './names.js';

export { BUS_NAME, JOB_IFACE, JOB_PATH_PREFIX, STORAGE_IFACE, STORAGE_PATH };

export interface Arg {
  name: string;
  type: string;
  doc?: string;
}
export interface MethodDef {
  in: Arg[];
  out: Arg[];
  doc?: string;
  /** The operation this method is another way to call (its polkit action and errors apply). */
  sameAs?: string;
}
export interface PropertyDef {
  type: string;
  /** org.freedesktop.DBus.Property.EmitsChangedSignal */
  emits: 'true' | 'const';
  doc?: string;
}

const toArgs = (fields: readonly Field[]): Arg[] =>
  fields.map((f) => ({ name: f.name, type: f.type.dbus, doc: f.doc }));

/** org.bootc.Storage's methods: exactly the operations table. */
export const STORAGE_METHODS: Readonly<Record<string, MethodDef>> = Object.fromEntries(
  operationsOf('dbus').map((op) => [op.name, { in: toArgs(op.in), out: toArgs(op.out) }]),
);

export const STORAGE_SIGNALS: Readonly<Record<string, { doc: string; args: Arg[] }>> = {
  JobNew: {
    doc: 'A job was created and its object exported; it starts in State "queued" (or "running" when it could start at once).',
    args: [
      { name: 'id', type: 'u', doc: "The new job's Id." },
      { name: 'path', type: 'o', doc: "The job's object, /org/bootc/Storage/job/<id>." },
    ],
  },
  JobRemoved: {
    doc: "A job ended. Emitted after the job's last PropertiesChanged (State, Result, ErrorName, ErrorMessage). The job's object stays, readable, for at least 60 s (the daemon's job-retention option), then goes with org.freedesktop.DBus.ObjectManager.InterfacesRemoved.",
    args: [
      { name: 'id', type: 'u', doc: "The ended job's Id." },
      { name: 'path', type: 'o', doc: "The job's object (still readable for the retention time)." },
      { name: 'result', type: 's', doc: '"done", "failed" or "canceled" (the job\'s final State).' },
    ],
  },
  StoreChanged: {
    doc: "The store's images or their names changed, whoever changed them (a job of the daemon's, bootc, an admin's podman on the store): read List again. Emitted once a burst of changes settles (about 150 ms). Carries nothing, so it tells a listener without read authorization nothing but that something changed. Emitted once a listener armed the watch (Subscribe, or a Varlink Watch; nothing is watched before, so a daemon nobody listens to pays nothing), until the daemon exits; a client that must not miss a change subscribes, and reads again when org.bootc.Storage gets a new owner (NameOwnerChanged).",
    args: [],
  },
  DeploymentsChanged: {
    doc: 'The deployments, their roles (booted, staged, rollback) or the pending updates changed (ostree admin deploy or undeploy, bootc upgrade, switch or rollback, a fetched update): read ListDeployments and ListBoundImages again. Coalesced and empty as StoreChanged.',
    args: [],
  },
};

export const STORAGE_PROPERTIES: Readonly<Record<string, PropertyDef>> = {
  Version: {
    type: 's',
    emits: 'const',
    doc: 'The daemon\'s version, for example "0.1.0". Fixed while the daemon runs.',
  },
  StorePath: {
    type: 's',
    emits: 'const',
    doc: 'Absolute path of the store, normally /sysroot/ostree/bootc/storage. Fixed while the daemon runs. Other tools may read it (for example as a podman additional image store) but must never write to it.',
  },
};

/** Job.Cancel: the job object's own way to call CancelJob(Id). */
export const JOB_METHODS: Readonly<Record<string, MethodDef>> = {
  Cancel: { in: [], out: [], doc: 'Same as org.bootc.Storage.CancelJob(Id).', sameAs: 'CancelJob' },
};

/** One read-only property per job field, announced with PropertiesChanged. */
export const JOB_PROPERTIES: Readonly<Record<string, PropertyDef>> = Object.fromEntries(
  JOB_FIELDS.map((f) => [propertyName(f), { type: f.type.dbus, emits: 'true', doc: f.doc }]),
);

/** The in-signature a method call must carry. */
export function inSignature(def: MethodDef): string {
  return def.in.map((a) => a.type).join('');
}
export function outSignature(def: MethodDef): string {
  return def.out.map((a) => a.type).join('');
}

export { signatureOf };
