// How the D-Bus adapter writes values onto the wire: job object paths and properties (uint64 that can never
// throw), and a caller's identity as a job requester.

import { type Job, viewJob } from '../../core/job-view.js';
import { JOB_PATH_PREFIX } from './members.js';

/** A job's object path. */
export function jobPath(id: number): string {
  return `${JOB_PATH_PREFIX}${id}`;
}

export function jobProps(job: Job): Record<string, unknown> {
  const v = viewJob(job); // the one projection every transport shares
  return {
    Id: v.id,
    Kind: v.kind,
    Target: v.target,
    State: v.state,
    Progress: v.progress,
    BytesDone: BigInt(v.bytesDone),
    BytesTotal: BigInt(v.bytesTotal),
    LayersDone: v.layersDone,
    LayersTotal: v.layersTotal,
    Owner: v.owner,
  };
}

/** A D-Bus caller as a job requester: its unique connection name. */
export function requesterKey(sender: string): string {
  return `bus:${sender}`;
}
