// How the D-Bus adapter writes values onto the wire: job object paths and properties (uint64 that can never
// throw), removal targets as polkit shows them, and a caller's identity as a job requester.

import type { Job } from '../../jobs/job.js';
import { parseImageTarget } from '../../storage/reference.js';
import { JOB_PATH_PREFIX } from './members.js';

/** A Remove/Prune entry as polkit shows it: the normalized reference or the image ID. */
export function describeTarget(input: string): string {
  const target = parseImageTarget(input);
  return target.kind === 'id' ? target.id : target.ref.canonical;
}

export function jobPath(id: number): string {
  return `${JOB_PATH_PREFIX}${id}`;
}

export function jobProps(job: Job): Record<string, unknown> {
  return {
    Id: job.id,
    Kind: job.kind,
    Target: job.target,
    State: job.state,
    Progress: job.progress,
    BytesDone: toUint64(job.bytesDone),
    BytesTotal: toUint64(job.bytesTotal),
    LayersDone: job.layersDone,
    LayersTotal: job.layersTotal,
    Owner: job.owner,
  };
}

/** A byte count as D-Bus `t`: never throws (BigInt of Infinity or NaN would), clamped to a safe integer. */
export function toUint64(n: number): bigint {
  return Number.isFinite(n) ? BigInt(Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(n)))) : 0n;
}

/** A D-Bus caller as a job requester: its unique connection name. */
export function requesterKey(sender: string): string {
  return `bus:${sender}`;
}
