// How a simulated root client reaches the daemon: one dbus-next connection to the private bus, or one Varlink
// connection (reconnected when the daemon was killed or the server closed it), every call with a deadline. A
// call's outcome is what came back (a value or an error name) and when; it never throws.

import { connect } from 'node:net';
import dbus from 'dbus-next';
import { VarlinkCallError, VarlinkClient } from '../../src/api/varlink/client.js';
import type { VarlinkParams } from '../../src/api/varlink/protocol.js';
import { connectClient } from '../helpers/daemon.js';
import { now, sendRaw, stringListBody } from '../helpers/huge-message.js';

export { now, stringListBody };

const { Message } = dbus;

/** What one call came to. `error` is the D-Bus/Varlink error name, or `transport: …` for a lost connection. */
export interface Outcome {
  start: number;
  end: number;
  value?: unknown;
  error?: string;
  text?: string;
  /** No answer within the deadline (the call may still be pending). */
  timedOut?: boolean;
}

/** One D-Bus call (dbus) or Varlink call (varlink) as data, so the nobody agent can run it too. */
export type Call =
  | { t: 'dbus'; member: string; signature: string; body: unknown[]; rawBody?: Buffer }
  | { t: 'varlink'; method: string; params: VarlinkParams; raw?: 'oversized' | 'bad-json' };

/** Resolves with the promise's outcome, or a timed-out one once `ms` passed. */
export async function withDeadline(
  start: number,
  ms: number,
  p: Promise<{ value?: unknown; error?: string; text?: string }>,
): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Outcome>((r) => {
    timer = setTimeout(() => r({ start, end: now(), timedOut: true, error: 'deadline passed' }), ms);
  });
  const done = p.then((o) => ({ start, end: now(), ...o }));
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error as a name and a message: the wire name when the daemon answered, `transport: …` otherwise. */
export function describeError(e: unknown): { error: string; text: string } {
  if (e instanceof VarlinkCallError) return { error: e.error, text: String(e.parameters.message ?? '') };
  const d = e as { type?: unknown; text?: unknown; code?: unknown; message?: unknown };
  if (typeof d.type === 'string') return { error: d.type, text: String(d.text ?? '') };
  const code = typeof d.code === 'string' ? d.code : String(d.message ?? e);
  return { error: `transport: ${code}`, text: String(d.message ?? '') };
}

/** A root client's bus connection; the bus outlives daemon kills, so it is never reconnected. */
export class DbusCaller {
  readonly bus: dbus.MessageBus;

  constructor(address: string) {
    this.bus = connectClient(address);
    (this.bus as unknown as NodeJS.EventEmitter).on('error', () => undefined);
  }

  call(c: Extract<Call, { t: 'dbus' }>, deadlineMs: number): Promise<Outcome> {
    const start = now();
    if (c.rawBody) return withDeadline(start, deadlineMs, this.raw(c.member, c.rawBody));
    const msg = new Message({
      destination: 'org.bootc.Storage',
      path: '/org/bootc/Storage',
      interface: 'org.bootc.Storage',
      member: c.member,
      signature: c.signature,
      body: c.body,
    });
    const p = this.bus.call(msg).then(
      (reply) => ({ value: reply?.body }),
      (e: unknown) => describeError(e),
    );
    return withDeadline(start, deadlineMs, p);
  }

  /** Writes a method call whose `as` body was built by hand (megabytes, without marshalling each string). */
  private async raw(
    member: string,
    body: Buffer,
  ): Promise<{ error?: string; text?: string; value?: unknown }> {
    const reply = await sendRaw(this.bus, member, body);
    return reply.name === 'no error' ? { value: [] } : { error: reply.name, text: reply.text };
  }

  private closed = false;

  close(): void {
    if (!this.closed) this.bus.disconnect();
    this.closed = true;
  }
}

/** Connections closed this long after their last call may have been closed by the server for idling. */
const IDLE_CLOSE_MS = 45_000;

/** A root client's Varlink connection: made on first use, made again after the daemon or server closed it. */
export class VarlinkCaller {
  private conn: VarlinkClient | undefined;
  private lastUse = 0;
  /** Connections made (the first one included). */
  connects = 0;
  /** Calls retried once because the server had closed the connection for idling. */
  idleRetries = 0;

  constructor(private readonly socket: string) {}

  async call(c: Extract<Call, { t: 'varlink' }>, deadlineMs: number): Promise<Outcome> {
    const start = now();
    if (c.raw) return withDeadline(start, deadlineMs, rawVarlink(this.socket, c));
    return withDeadline(start, deadlineMs, this.send(c.method, c.params, true));
  }

  private async send(
    method: string,
    params: VarlinkParams,
    retry: boolean,
  ): Promise<{ value?: unknown; error?: string; text?: string }> {
    const idleFor = now() - this.lastUse;
    try {
      const conn = await this.connection();
      this.lastUse = now();
      return { value: await conn.call(method, params) };
    } catch (e) {
      const d = describeError(e);
      if (d.error.startsWith('transport:')) this.drop();
      if (retry && d.error === 'transport: varlink connection closed' && idleFor > IDLE_CLOSE_MS) {
        this.idleRetries += 1;
        return this.send(method, params, false);
      }
      return d;
    }
  }

  private async connection(): Promise<VarlinkClient> {
    if (this.conn) return this.conn;
    const conn = await VarlinkClient.connect(this.socket);
    this.connects += 1;
    conn.socket.on('close', () => {
      if (this.conn === conn) this.conn = undefined;
    });
    this.conn = conn;
    return conn;
  }

  private drop(): void {
    this.conn?.close();
    this.conn = undefined;
  }

  close(): void {
    this.drop();
  }
}

/**
 * Malformed or oversized input on a connection of its own (the server closes it): a message over the 1 MiB
 * limit, or JSON cut short. Resolves with the error reply the server sent before closing, if any.
 */
function rawVarlink(
  path: string,
  c: Extract<Call, { t: 'varlink' }>,
): Promise<{ error?: string; text?: string }> {
  return new Promise((resolve) => {
    const sock = connect(path);
    let got = '';
    sock.on('data', (d: Buffer) => {
      got += d.toString();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      const first = got.split('\0')[0] ?? '';
      try {
        const reply = JSON.parse(first) as { error?: string; parameters?: { parameter?: string } };
        resolve(reply.error ? { error: reply.error, text: reply.parameters?.parameter ?? '' } : {});
      } catch {
        resolve({ error: 'transport: closed without a reply', text: first.slice(0, 200) });
      }
    });
    sock.on('connect', () => {
      if (c.raw === 'bad-json') {
        sock.write(`{"method": "${c.method}", "parameters": {"image": \0`);
        return;
      }
      // A well-formed call, NUL-terminated, whose JSON alone is over the limit.
      const images = Array.from({ length: 48 * 1024 }, (_, i) => `quay.io/soak/oversized-${i}:v1`);
      sock.write(`${JSON.stringify({ method: c.method, parameters: { ...c.params, images } })}\0`);
    });
  });
}
