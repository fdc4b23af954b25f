// The one table of org.bootc.Storage's methods. Each entry (core/contract.ts says what one holds) is the only
// definition of its method: the D-Bus and Varlink adapters loop over it, the polkit check comes from it, and
// the method parts of dbus/org.bootc.Storage.xml and varlink/org.bootc.Storage.varlink are generated from it
// (scripts/generate-contract.mjs; a unit test fails when a checked-in file is stale).

import type { Operation } from './contract.js';
import { CANCEL_JOB } from './ops/jobs.js';
import { EXISTS, LIST, LIST_JOBS } from './ops/reads.js';
import { GARBAGE_COLLECT, PRUNE, PULL, PULL_FROM_HOST, REMOVE } from './ops/writes.js';

export type { Caller, Field, Operation, Outcome } from './contract.js';

/**
 * Every method, in the order the XML and the IDL document them. Stored with their types erased: each entry was
 * checked against its own schema and result type by defineOperation, and the adapters only ever hand an entry
 * what its own schema parsed.
 */
export const OPERATIONS = [
  EXISTS,
  LIST,
  PULL,
  PULL_FROM_HOST,
  REMOVE,
  PRUNE,
  GARBAGE_COLLECT,
  LIST_JOBS,
  CANCEL_JOB,
] as unknown as readonly Operation[];

const BY_NAME = new Map(OPERATIONS.map((op) => [op.name, op]));

/** The operation a transport's method name names; undefined means no such method (deny). */
export function findOperation(name: string): Operation | undefined {
  return BY_NAME.get(name);
}
