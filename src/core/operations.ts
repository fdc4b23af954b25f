// The one table of org.bootc.Storage's methods. Each entry (core/contract.ts says what one holds) is the only
// definition of its method: the D-Bus and Varlink adapters loop over it, the polkit check comes from it, and
// the method parts of dbus/org.bootc.Storage.xml and varlink/org.bootc.Storage.varlink are generated from it
// (scripts/generate-contract.mjs; a unit test fails when a checked-in file is stale).

import type { Operation } from './contract.js';
import { registerJobMakers } from './job-wire.js';
import {
  LIST_BOUND_IMAGES,
  LIST_DEPLOYMENTS,
  PREVIEW_GARBAGE_COLLECT,
  SYNC_BOUND_IMAGES,
} from './ops/deployments.js';
import { startOf } from './ops/handles.js';
import { CANCEL_JOB } from './ops/jobs.js';
import { EXISTS, GET_JOB, LIST, LIST_JOBS } from './ops/reads.js';
import { SUBSCRIBE, UNSUBSCRIBE, WATCH } from './ops/watch.js';
import { GARBAGE_COLLECT, PRUNE, PULL, PULL_FROM_HOST, REMOVE } from './ops/writes.js';

export type { Caller, Field, Operation, Outcome } from './contract.js';
export { operationForKind } from './job-wire.js';

/**
 * Stored with their types erased: each entry was checked against its own schema and result type by
 * defineOperation, and the adapters only ever hand an entry what its own schema parsed.
 */
const erase = (op: unknown): Operation => op as Operation;

/** Every method, in the order the XML and the IDL document them. */
export const OPERATIONS: readonly Operation[] = [
  erase(EXISTS),
  erase(LIST),
  erase(PULL),
  erase(PULL_FROM_HOST),
  erase(REMOVE),
  erase(PRUNE),
  erase(GARBAGE_COLLECT),
  erase(LIST_JOBS),
  erase(GET_JOB),
  erase(CANCEL_JOB),
  erase(LIST_DEPLOYMENTS),
  erase(LIST_BOUND_IMAGES),
  erase(PREVIEW_GARBAGE_COLLECT),
  erase(SYNC_BOUND_IMAGES),
  erase(WATCH),
  erase(SUBSCRIBE),
  erase(UNSUBSCRIBE),
  // The job handles: each job operation's Start variant (ops/handles.ts).
  startOf(erase(PULL)),
  startOf(erase(REMOVE)),
  startOf(erase(PRUNE)),
  // GarbageCollect answers a dry run at once; its Start variant makes a dry run a job like any other.
  startOf(erase(GARBAGE_COLLECT), (async (service, input, caller) =>
    service.collectGarbage((input as [boolean])[0], await caller.uid(), caller.who, {
      asJob: true,
    })) as Operation['run']),
  startOf(erase(SYNC_BOUND_IMAGES)),
];

registerJobMakers(OPERATIONS);
const BY_NAME = new Map(OPERATIONS.map((op) => [op.name, op]));

/** The operation a transport's method name names; undefined means no such method (deny). */
export function findOperation(name: string, transport?: 'dbus' | 'varlink'): Operation | undefined {
  const op = BY_NAME.get(name);
  return op && (!op.only || !transport || op.only === transport) ? op : undefined;
}

/** The operations one transport serves. */
export function operationsOf(transport: 'dbus' | 'varlink'): Operation[] {
  return OPERATIONS.filter((op) => !op.only || op.only === transport);
}
