// A Varlink server over a node:net server: NUL-terminated JSON messages on a unix stream socket, the
// org.varlink.service interface, the standard errors, `more` (streamed replies with `continues`) and `oneway`.
// It knows nothing about storage; interfaces are plugged in as IDL text with handlers, or as a table (a name, a
// description provider, each method with its parameter check and handler): interfaces.ts.
//
// Limits and how they are enforced (each one documented in varlink/org.bootc.Storage.varlink too):
//  * One message (a call) may be at most `maxMessageBytes` (1 MiB) long. Bytes beyond that without a NUL get
//    the error org.varlink.service.InvalidParameter {parameter: "message"} (after the answers to the calls
//    before it), a warning in the log, and the connection is closed. Nothing more is read from it.
//  * Parameters are checked against the method's input fields (its table check, or its input struct in the IDL
//    text) before the handler runs: a missing, unknown or wrongly typed one gets InvalidParameter
//    {parameter: <its name>}.
//  * A message that is not JSON, or JSON that is not an object, gets the same error and the connection is
//    closed: the stream can no longer be trusted. A well-formed call object with a bad field (`method` not
//    "interface.Method", `parameters` not an object, `more` and `oneway` both set, `upgrade`) gets
//    InvalidParameter naming that field, and the connection stays usable.
//  * A `oneway` call is never answered, not even with an error (a reply the client does not expect would be
//    taken as the answer to its next call); its errors are only logged.
//  * A message nesting arrays or objects deeper than 64 levels gets the same error, found by one pass over its
//    bytes before it is parsed (deep nesting is what makes JSON.parse slow).
//  * Connections are admitted per uid (admission.ts; the uid is the kernel's SO_PEERCRED, bound at accept by
//    `identify`): one non-root uid holds at most 16, all non-root users together 64, and root has 64 of its
//    own, so no other user can make root wait. One more is accepted, sent the configured over-limit error
//    (unsolicited, before it asks anything) and closed; it is never read from. A peer `identify` refuses (its
//    process has already gone) is closed at once.
//  * A message left unfinished (bytes but no NUL) for `partialMessageTimeoutMs` (30 s) is treated like an
//    oversized one: error, log line, close. A connection with no call running, queued or half-sent for
//    `idleTimeoutMs` (60 s) is closed: an idle connection holds a share, and would keep the daemon from exiting.
//  * One non-root uid's connections may buffer at most 4 MiB of input together; the connection that would pass
//    it gets InvalidParameter {parameter: "message"} and is closed.
//  * Calls on one connection are handled one at a time, in the order they arrived, so replies come back in
//    order (pipelining), and the event loop is yielded to after each call, so other connections' calls
//    interleave. Use another connection for concurrent calls. Reading pauses while more than 64 KiB of
//    complete calls wait, and while the client does not read its replies; no work is ever proportional to
//    more than one chunk of input at a time, and every connection has its own buffers.
//  * Intermediate (`continues`) replies are dropped, not queued, while the client is behind on reading; the
//    final reply is always sent.

import { createServer, type Server, type Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import { Admission, type AdmissionLimits, DEFAULT_ADMISSION_LIMITS, UNKNOWN_UID } from './admission.js';
import { CLOSE_GRACE_MS, Connection } from './connection.js';
import {
  type ServedInterface,
  serveInterface,
  type VarlinkCall,
  type VarlinkInterface,
  type VarlinkPeer,
} from './interfaces.js';
import { SERVICE_DESCRIPTION, serviceInterface } from './service-interface.js';
import {
  encode,
  INTERFACE_NAME,
  invalidParameter,
  isPlainObject,
  MEMBER_NAME,
  VarlinkError,
  VarlinkErrors,
  type VarlinkParams,
} from './wire.js';

export type {
  VarlinkCall,
  VarlinkInterface,
  VarlinkMethod,
  VarlinkPeer,
  VarlinkTableInterface,
  VarlinkTableMethod,
} from './interfaces.js';
export { type ParameterCheck, type ParamSpec, parameterCheck } from './params.js';
export {
  encode,
  invalidParameter,
  isPlainObject,
  permissionDenied,
  SERVICE_INTERFACE,
  VarlinkError,
  VarlinkErrors,
  type VarlinkParams,
} from './wire.js';
export { SERVICE_DESCRIPTION };

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_PARTIAL_MESSAGE_TIMEOUT_MS = 30_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface VarlinkServerOptions {
  vendor: string;
  product: string;
  version: string;
  url: string;
  interfaces: readonly VarlinkInterface[];
  maxMessageBytes?: number;
  /** Connections per uid and in all, and input buffered per uid (admission.ts). */
  limits?: Partial<AdmissionLimits>;
  partialMessageTimeoutMs?: number;
  /** A connection with nothing running, queued or half-sent for this long is closed (0: never). */
  idleTimeoutMs?: number;
  /**
   * Binds the peer when a connection is accepted, synchronously, before anything is read from it; a throw
   * refuses the connection. Without it every connection counts against one shared non-root share.
   */
  identify?: (socket: Socket) => VarlinkPeer;
  /** Sent (unsolicited) to a connection over its share before it is closed; without it, just closed. */
  overLimitError?: VarlinkError;
  /**
   * Turns anything else a handler throws into an error reply. Without it (or when it throws), the error is
   * logged and the connection closed, never shown to the client.
   */
  mapError?: (err: unknown, method: string) => VarlinkError;
  log?: Logger;
  /** Called whenever a call starts or ends, and when a connection opens or closes (idle-exit bookkeeping). */
  onActivity?: () => void;
}

export class VarlinkServer {
  /** The listening server: call `listen()` on it (a path, or `{fd: 3}` under socket activation). */
  readonly server: Server;
  private readonly interfaces = new Map<string, ServedInterface>();
  private readonly conns = new Map<Connection, VarlinkPeer | undefined>();
  private readonly log: Logger;
  readonly maxMessageBytes: number;
  readonly partialMessageTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Connections and buffered input per uid. */
  readonly admission: Admission;
  private nextConnection = 1;
  private calls = 0;
  private closing = false;
  private refused = 0;
  private lastRefusalLog = 0;

  constructor(readonly opts: VarlinkServerOptions) {
    this.log = opts.log ?? pino({ level: 'silent' });
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.admission = new Admission({ ...DEFAULT_ADMISSION_LIMITS, ...opts.limits });
    this.partialMessageTimeoutMs = opts.partialMessageTimeoutMs ?? DEFAULT_PARTIAL_MESSAGE_TIMEOUT_MS;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const service = serviceInterface(
      () => this.getInfo(),
      (p) => this.getDescription(p),
    );
    for (const iface of [service, ...opts.interfaces]) {
      const served = serveInterface(iface);
      if (this.interfaces.has(served.name))
        throw new Error(`varlink interface ${served.name} registered twice`);
      this.interfaces.set(served.name, served);
    }
    // allowHalfOpen: a client may send its calls and shut down its writing side; it still gets its replies.
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) =>
      this.accept(socket),
    );
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'varlink listener error'));
  }

  /** Open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Calls being handled (the daemon does not idle-exit while there are any). */
  get pendingCalls(): number {
    return this.calls;
  }

  /** Stops accepting, ends every connection (after its current call) and resolves once all are closed. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns.keys()) c.shutdown();
    const timer = setTimeout(() => {
      for (const c of this.conns.keys()) c.destroy();
    }, CLOSE_GRACE_MS);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  /** Serves a connection accepted elsewhere (lazy-server.ts's listener, which loads this code on first use). */
  adopt(socket: Socket): void {
    this.accept(socket);
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    let peer: VarlinkPeer | undefined;
    try {
      peer = this.opts.identify?.(socket);
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'varlink: connection refused: its peer is unknown');
      socket.destroy();
      return;
    }
    const uid = peer?.uid ?? UNKNOWN_UID;
    const admitted = this.admission.admit(uid);
    if (admitted !== 'ok') {
      peer?.release();
      this.refuse(socket, uid, admitted);
      return;
    }
    const conn = new Connection(this, socket, this.nextConnection++, uid, this.log);
    this.conns.set(conn, peer);
    this.activity();
    socket.once('close', () => {
      this.conns.delete(conn);
      this.admission.leave(uid);
      peer?.release();
      this.activity();
    });
  }

  /** Over a share: the over-limit error, unsolicited, then close; nothing is read. */
  private refuse(socket: Socket, uid: number, cap: 'total' | 'uid'): void {
    this.refused += 1;
    if (Date.now() - this.lastRefusalLog >= 10_000) {
      // At most one line per 10 s, however fast connections are refused.
      this.lastRefusalLog = Date.now();
      this.log.warn(
        { uid, cap, limits: this.admission.limits, refusedSoFar: this.refused },
        'varlink: too many connections; refusing new ones',
      );
    }
    socket.on('error', () => undefined);
    socket.resume(); // discard whatever it sends
    const err = this.opts.overLimitError;
    if (err) socket.end(encode({ error: err.error, parameters: err.parameters }));
    else socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** @internal A connection's buffered input changed by `delta` bytes; false refuses growth past its share. */
  buffer(conn: Connection, delta: number): boolean {
    return this.admission.buffer(conn.uid, delta);
  }

  /** @internal */
  activity(): void {
    this.opts.onActivity?.();
  }

  /** @internal Handles one parsed call object; resolves when its last reply is written. */
  async dispatch(conn: Connection, msg: Record<string, unknown>): Promise<void> {
    const { method, parameters, more, oneway, upgrade } = msg;
    const wantsReply = oneway !== true;
    const fail = (e: VarlinkError) => {
      if (wantsReply) conn.send({ error: e.error, parameters: e.parameters });
      else this.log.info({ method, connection: conn.id, error: e.error }, 'varlink: oneway call failed');
    };
    if (typeof method !== 'string') return fail(invalidParameter('method'));
    for (const [name, v] of [
      ['more', more],
      ['oneway', oneway],
      ['upgrade', upgrade],
    ] as const) {
      if (v !== undefined && v !== null && typeof v !== 'boolean') return fail(invalidParameter(name));
    }
    if (more === true && oneway === true) return fail(invalidParameter('oneway'));
    if (upgrade === true) return fail(invalidParameter('upgrade')); // no method here upgrades the connection
    const dot = method.lastIndexOf('.');
    const ifaceName = method.slice(0, dot);
    const member = method.slice(dot + 1);
    if (dot <= 0 || !INTERFACE_NAME.test(ifaceName) || !MEMBER_NAME.test(member))
      return fail(invalidParameter('method'));
    if (parameters !== undefined && parameters !== null && !isPlainObject(parameters))
      return fail(invalidParameter('parameters'));
    const params = (parameters ?? {}) as VarlinkParams;

    const iface = this.interfaces.get(ifaceName);
    if (!iface) return fail(new VarlinkError(VarlinkErrors.InterfaceNotFound, { interface: ifaceName }));
    const decl = iface.methods.get(member);
    if (!decl) return fail(new VarlinkError(VarlinkErrors.MethodNotFound, { method }));
    const handler = decl.run;
    if (!handler) return fail(new VarlinkError(VarlinkErrors.MethodNotImplemented, { method }));
    if (iface.requiresMore.has(member) && more !== true)
      return fail(new VarlinkError(VarlinkErrors.ExpectedMore));
    const bad = decl.check(params);
    if (bad !== undefined) return fail(invalidParameter(bad));

    let finished = false;
    const call: VarlinkCall = {
      method,
      more: more === true,
      oneway: oneway === true,
      connection: conn.id,
      signal: conn.signal,
      peer: this.conns.get(conn),
      close: () => conn.shutdown(),
      notify: (p) => {
        if (more !== true || finished) return;
        conn.send({ parameters: p, continues: true }, true);
      },
    };
    this.calls += 1;
    this.activity();
    try {
      const result = await handler(params, call);
      finished = true;
      if (wantsReply) conn.send({ parameters: result ?? {} });
    } catch (err) {
      finished = true;
      let e: VarlinkError | undefined = err instanceof VarlinkError ? err : undefined;
      if (!e && this.opts.mapError) {
        try {
          e = this.opts.mapError(err, method);
        } catch {
          e = undefined;
        }
      }
      if (!e) {
        this.log.error({ method, connection: conn.id, err: String(err) }, 'varlink: handler failed');
        conn.destroy();
        return;
      }
      fail(e);
    } finally {
      this.calls -= 1;
      this.activity();
    }
  }

  private getInfo(): VarlinkParams {
    const { vendor, product, version, url } = this.opts;
    return { vendor, product, version, url, interfaces: [...this.interfaces.keys()] };
  }

  private getDescription(p: VarlinkParams): VarlinkParams {
    const name = p.interface as string; // checked (SERVICE_METHOD_INPUTS): a string
    const iface = this.interfaces.get(name);
    if (!iface) throw new VarlinkError(VarlinkErrors.InterfaceNotFound, { interface: name });
    return { description: iface.describe() };
  }
}
