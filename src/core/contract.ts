// The shape of the one contract: what an operation is (schema, wire names, polkit, core call, projection),
// the wire types both transports spell, and who a caller is. src/core/operations.ts holds the entries;
// the D-Bus and Varlink adapters, the introspection XML and the Varlink IDL all follow from them.

import type { MethodPolicy } from '../authz/actions.js';
import type { JobKind } from '../jobs/job.js';
import * as z from '../schema.js';
import type { Caller, Outcome } from './caller.js';
import type { StorageService } from './storage-service.js';

/** Where each job is published on D-Bus: this prefix and its id in decimal. */
export const JOB_PATH_PREFIX = '/org/bootc/Storage/job/';

/** A job's D-Bus object path. */
export function jobObjectPath(id: number): string {
  return `${JOB_PATH_PREFIX}${id}`;
}

/** A wire type, spelled for each transport. Named struct types are documented in core/wire-types.ts. */
export interface WireType {
  dbus: string;
  varlink: string;
}

/** One argument or result field: its D-Bus name (snake_case), its Varlink name (camelCase), type and doc. */
export interface Field {
  name: string;
  type: WireType;
  doc: string;
  /** The Varlink name when it is not the camelCase of `name`. */
  varlink?: string;
  /** Varlink: the field may be absent (`?type`). */
  optional?: boolean;
}

export type { Caller, Outcome } from './caller.js';

/** One method of org.bootc.Storage, defined once for every transport. */
export interface Operation<S extends z.ZodMiniTuple = z.ZodMiniTuple, R = unknown> {
  name: string;
  /** `read`: answered from the view; `job`: queued work (or a dry run answered at once); `cancel`. */
  kind: 'read' | 'job' | 'cancel';
  /** The method's documentation, shared by the XML and the IDL (hand-written prose). */
  doc: string;
  /** Extra prose for one transport only. */
  dbusDoc?: string;
  varlinkDoc?: string;
  in: readonly Field[];
  out: readonly Field[];
  /** Argument shapes after the transport's type check, in `in` order; the inferred type reaches `run`. */
  input: S;
  /** The polkit action checked before `run` (`action`), or decided by `run` itself (`ownerOr`). */
  access: MethodPolicy;
  /** What polkit agents show ($(image) in the policy); throws for bad input, so it never prompts. */
  details?(input: z.infer<S>): Record<string, string>;
  /** The errors the method can answer with (catalogue names, with a note in parentheses). */
  errors: readonly string[];
  /** Internal failures go out as PullFailed rather than StorageFailure. */
  pulling?: boolean;
  /** Varlink `more`: replies with the job's progress fields until the final reply. */
  streams?: boolean;
  /** Varlink: must be called with `more` (a stream with no final reply; ExpectedMore otherwise). */
  requiresMore?: boolean;
  /** The kind of job this method makes; a job's Result is projected with this operation's `toDBus`/`toVarlink`. */
  jobKind?: JobKind;
  /** A job handle: reply with the job's id and object path as soon as it is queued (or joined). */
  handle?: boolean;
  /**
   * `run`'s value is a snapshot: the same object until the answer changes (the image view's array), never
   * mutated. A transport may then keep its projection of that object (D-Bus: the marshalled body).
   */
  snapshot?: boolean;
  /** A method of one transport only (D-Bus has job objects where Varlink needs GetJob). */
  only?: 'dbus' | 'varlink';
  /** The call into the core. */
  run(service: StorageService, input: z.infer<S>, caller: Caller): Promise<Outcome<R>>;
  /** The result as D-Bus out arguments, in `out` order. */
  toDBus(result: R): unknown[];
  /** The result as Varlink output fields. */
  toVarlink(result: R): Record<string, unknown>;
}

/** The argument schema of a method that takes none (D-Bus's own members too). */
export const NO_ARGS = z.tuple([]);

/** A method's argument schema, and what it parses to (what adapters check against without importing zod). */
export type ArgsSchema = z.ZodMiniTuple;
export type ArgsOf<S extends ArgsSchema> = z.infer<S>;

/** Declares an operation with its types inferred (the table stores them erased). */
export function defineOperation<S extends z.ZodMiniTuple, R>(op: Operation<S, R>): Operation<S, R> {
  return op;
}

/** A field's Varlink name: given, or the camelCase of its D-Bus name. */
export function varlinkName(f: Field): string {
  return f.varlink ?? f.name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The D-Bus signature of a list of fields. */
export function signatureOf(fields: readonly Field[]): string {
  return fields.map((f) => f.type.dbus).join('');
}
