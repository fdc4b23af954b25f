// A job as one transport publishes it: every field of core/job-fields.ts, with its error named as that
// transport names errors and its result projected by the operation that made it (what the blocking call
// would have returned). D-Bus gets the result's signature with it, to wrap it in a variant.

import { wireErrorName } from '../errors.js';
import type { JobKind } from '../jobs/job.js';
import type { Operation } from './contract.js';
import { JOB_FIELDS } from './job-fields.js';
import { type Job, viewJob } from './job-view.js';

/**
 * The blocking operation that makes each kind of job (its projection is the job's Result). operations.ts
 * fills it when the table is built: the table includes GetJob, which projects jobs, so looking the table up
 * from here would make the two import each other.
 */
const makers = new Map<JobKind, Operation>();

/** Records each job kind's blocking operation (not its Start handle); operations.ts calls it once. */
export function registerJobMakers(ops: readonly Operation[]): void {
  for (const op of ops) if (op.jobKind && !op.handle) makers.set(op.jobKind, op);
}

/** The blocking operation that makes jobs of this kind. */
export function operationForKind(kind: JobKind): Operation | undefined {
  return makers.get(kind);
}

export type Transport = 'dbus' | 'varlink';

/** A D-Bus variant to be: its signature and value. */
export interface DBusValue {
  signature: string;
  value: unknown;
}

/** Every job field, keyed by its JOB_FIELDS name, as `transport` publishes it. */
export function projectJob(job: Job, transport: Transport): Record<string, unknown> {
  const v = viewJob(job);
  const op = operationForKind(job.kind);
  const fields: Record<string, unknown> = { ...v };
  fields.errorName = job.error ? wireErrorName(job.error, transport, op?.pulling === true) : '';
  const done = job.state === 'done' && op !== undefined;
  if (transport === 'varlink') {
    fields.result = done ? op.toVarlink(job.value) : undefined;
  } else {
    const only = op?.out.length === 1 ? op.out[0] : undefined;
    const result: DBusValue =
      done && only
        ? { signature: only.type.dbus, value: op.toDBus(job.value)[0] }
        : { signature: 's', value: '' };
    fields.result = result;
  }
  return Object.fromEntries(JOB_FIELDS.map((f) => [f.name, fields[f.name]]));
}
