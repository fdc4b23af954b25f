// org.bootc.Storage as a table interface of the protocol server (interfaces.ts), straight from the operations
// table: one method per operation, its parameters checked from the entry's `in` fields (their Varlink names and
// wire-types.ts spellings; params.ts), its description rendered from the same table at the first
// GetInterfaceDescription (render-idl.ts) and kept. Nothing is parsed when the transport starts.

import { type Field, type Operation, varlinkName } from '../../core/contract.js';
import { operationsOf } from '../../core/operations.js';
import { VARLINK_TYPES } from '../../core/wire-types.js';
import type { VarlinkMethod, VarlinkTableInterface, VarlinkTableMethod } from './interfaces.js';
import { type ParameterCheck, type ParamSpec, parameterCheck } from './params.js';
import { renderStorageIdl, VARLINK_INTERFACE } from './render-idl.js';

export { VARLINK_INTERFACE };

/** A field as the parameter check reads it: its Varlink name, and its type spelling (`?T` when optional). */
export function paramSpecOf(f: Field): ParamSpec {
  return { name: varlinkName(f), type: `${f.optional ? '?' : ''}${f.type.varlink}` };
}

/** The named struct types a field may use, by name (core/wire-types.ts). */
const STRUCT_TYPES: ReadonlyMap<string, readonly ParamSpec[]> = new Map(
  VARLINK_TYPES.map((t) => [t.name, t.fields.map(paramSpecOf)]),
);

/** An operation's parameter check: exactly its `in` fields, each of its wire type. */
export function operationCheck(op: Operation): ParameterCheck {
  return parameterCheck(op.in.map(paramSpecOf), STRUCT_TYPES);
}

let description: string | undefined;

/** The interface description: rendered at the first GetInterfaceDescription (never, for most daemons), then kept. */
export function storageDescription(): string {
  description ??= renderStorageIdl();
  return description;
}

/** The interface the Varlink transport serves: every Varlink operation, handled by `run`. */
export function storageInterface(
  run: (op: Operation, ...call: Parameters<VarlinkMethod>) => ReturnType<VarlinkMethod>,
): VarlinkTableInterface {
  return {
    name: VARLINK_INTERFACE,
    describe: storageDescription,
    methods: Object.fromEntries(
      operationsOf('varlink').map((op): [string, VarlinkTableMethod] => [
        op.name,
        { check: operationCheck(op), run: (p, call) => run(op, p, call) },
      ]),
    ),
    requiresMore: operationsOf('varlink')
      .filter((op) => op.requiresMore)
      .map((op) => op.name),
  };
}
