// What a Varlink interface plugged into the protocol server is: a table (a name, its description rendered on
// demand, each method with its own parameter check: org.bootc.Storage, org.varlink.service). No IDL text is
// parsed here: tests that write an interface as IDL turn it into such a table (test/helpers/varlink-idl.ts).

import type { ParameterCheck } from './params.js';
import { INTERFACE_NAME, MEMBER_NAME, type VarlinkParams } from './wire.js';

/** What the server knows of a connection's peer from the moment it was accepted. */
export interface VarlinkPeer {
  /** The uid the kernel recorded at connect (SO_PEERCRED): the share the connection counts against. */
  readonly uid: number;
  /** Called once when the connection closes. */
  release(): void;
}

/** What a method handler knows about the call it answers. */
export interface VarlinkCall {
  /** Fully-qualified method name, e.g. org.bootc.Storage.Pull. */
  readonly method: string;
  /** The client accepts several replies (`continues`). */
  readonly more: boolean;
  /** The client wants no reply at all. */
  readonly oneway: boolean;
  /** A number naming the connection in logs. */
  readonly connection: number;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  /** The peer as `identify` bound it at accept; undefined where the server identifies nobody. */
  readonly peer: VarlinkPeer | undefined;
  /** Closes the connection after this call's reply (its peer can no longer be trusted). */
  close(): void;
  /**
   * Sends an intermediate reply (`continues: true`) when the client asked for `more`; otherwise does nothing.
   * Dropped while the client is behind on reading its replies. The handler's return value is the final reply.
   */
  notify(parameters: VarlinkParams): void;
}

/** A method's handler: its result is the final reply (none for oneway calls). */
export type VarlinkMethod = (
  parameters: VarlinkParams,
  call: VarlinkCall,
) => Promise<VarlinkParams | undefined> | VarlinkParams | undefined;

/** One method of a table interface: its parameter check (params.ts) and its handler (none: MethodNotImplemented). */
export interface VarlinkTableMethod {
  check: ParameterCheck;
  run: VarlinkMethod | undefined;
}

/** An interface, as a table: nothing parsed; its description is asked for only by GetInterfaceDescription. */
export interface VarlinkTableInterface {
  /** The fully-qualified interface name. */
  name: string;
  /** Its interface definition text, as GetInterfaceDescription returns it; called on each such call. */
  describe: () => string;
  /** Every method by short name. */
  methods: Readonly<Record<string, VarlinkTableMethod>>;
  /** Methods that must be called with `more: true` (ExpectedMore otherwise). */
  requiresMore?: readonly string[];
}

/** An interface the server serves. */
export type VarlinkInterface = VarlinkTableInterface;

/** @internal How the server holds an interface: declared methods, each with its check and, if implemented, handler. */
export interface ServedInterface {
  readonly name: string;
  describe(): string;
  readonly methods: ReadonlyMap<string, { check: ParameterCheck; run: VarlinkMethod | undefined }>;
  readonly requiresMore: ReadonlySet<string>;
}

/** @internal Checks an interface's names and declarations (throws at start-up) and gives its served form. */
export function serveInterface(iface: VarlinkInterface): ServedInterface {
  if (!INTERFACE_NAME.test(iface.name)) throw new Error(`varlink: bad interface name ${iface.name}`);
  const methods = new Map(
    Object.entries(iface.methods).map(([m, { check, run }]) => {
      if (!MEMBER_NAME.test(m)) throw new Error(`varlink: bad method name ${iface.name}.${m}`);
      return [m, { check, run }];
    }),
  );
  for (const m of iface.requiresMore ?? []) {
    if (!methods.has(m)) throw new Error(`${iface.name}.${m} requires "more" but is not declared`);
  }
  return { name: iface.name, describe: iface.describe, methods, requiresMore: new Set(iface.requiresMore) };
}
