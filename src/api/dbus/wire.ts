// How the D-Bus adapter writes values onto the wire: job object paths and properties (uint64 that can never
// throw), and a caller's identity as a job requester.

import dbus from 'dbus-next';
import { jobObjectPath } from '../../core/contract.js';
import { JOB_FIELDS, propertyName } from '../../core/job-fields.js';
import type { Job } from '../../core/job-view.js';
import { type DBusValue, projectJob } from '../../core/job-wire.js';

/** A job's object path. */
export const jobPath = jobObjectPath;

/** Every job field as its D-Bus property value (from the one projection every transport shares). */
export function jobProps(job: Job): Record<string, unknown> {
  const v = projectJob(job, 'dbus');
  const props: Record<string, unknown> = {};
  for (const f of JOB_FIELDS) {
    const value = v[f.name];
    if (f.type.dbus === 'v') {
      const { signature, value: inner } = value as DBusValue;
      props[propertyName(f)] = new dbus.Variant(signature, inner);
    } else props[propertyName(f)] = f.type.dbus === 't' ? BigInt(value as number) : value;
  }
  return props;
}

/** A D-Bus caller as a job requester: its unique connection name. */
export function requesterKey(sender: string): string {
  return `bus:${sender}`;
}
