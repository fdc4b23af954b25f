// A small Varlink client: one unix-socket connection, calls pipelined and answered in order, `more` calls read
// as an async stream of replies, `oneway` calls that expect nothing. Error replies reject with VarlinkCallError.

import { connect, type Socket } from 'node:net';
import { encode, isPlainObject, type VarlinkParams } from './protocol.js';

/** Replies larger than this (without a NUL) end the connection: the peer is not speaking Varlink. */
const DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024;

/** An error reply from the service. */
export class VarlinkCallError extends Error {
  constructor(
    readonly error: string,
    readonly parameters: VarlinkParams,
    readonly method: string,
  ) {
    const text = typeof parameters.message === 'string' ? `: ${parameters.message}` : '';
    super(`${method} failed with ${error}${text}`);
    this.name = 'VarlinkCallError';
  }
}

export interface VarlinkReply<T = VarlinkParams> {
  parameters: T;
  continues: boolean;
}

interface Pending {
  method: string;
  more: boolean;
  onReply(reply: VarlinkReply): void;
  onError(err: Error): void;
}

export interface VarlinkCallOptions {
  more?: boolean;
  oneway?: boolean;
}

/** `unix:/path`, `unix:@abstract` or a plain path → the path node:net connects to. */
export function socketPath(address: string): string {
  let path = address.startsWith('unix:') ? address.slice(5) : address;
  path = path.split(';')[0]!;
  return path.startsWith('@') ? `\0${path.slice(1)}` : path;
}

export class VarlinkClient {
  private readonly pending: Pending[] = [];
  private chunks: Buffer[] = [];
  private bytes = 0;
  private failure: Error | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly maxReplyBytes: number,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('varlink connection closed')));
  }

  /** Connects to a unix socket (`unix:/path` or a plain path). */
  static connect(address: string, opts: { maxReplyBytes?: number } = {}): Promise<VarlinkClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath(address));
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new VarlinkClient(socket, opts.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES));
      });
    });
  }

  /** Calls a method and resolves with its (single) reply's parameters. */
  call<T = VarlinkParams>(method: string, parameters: VarlinkParams = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.send(
        method,
        parameters,
        {},
        {
          method,
          more: false,
          onReply: (r) => resolve(r.parameters as T),
          onError: reject,
        },
      );
    });
  }

  /** Calls a method with `more: true`: yields every reply, the last one with `continues: false`. */
  async *stream<T = VarlinkParams>(
    method: string,
    parameters: VarlinkParams = {},
  ): AsyncGenerator<VarlinkReply<T>, void, undefined> {
    const replies: VarlinkReply<T>[] = [];
    let error: Error | undefined;
    let done = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    this.send(
      method,
      parameters,
      { more: true },
      {
        method,
        more: true,
        onReply: (r) => {
          replies.push(r as VarlinkReply<T>);
          if (!r.continues) done = true;
          notify();
        },
        onError: (e) => {
          error = e;
          done = true;
          notify();
        },
      },
    );
    for (;;) {
      while (replies.length > 0) yield replies.shift()!;
      if (error) throw error;
      if (done) return;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  }

  /** Sends a `oneway` call: the service answers nothing. Resolves once written. */
  oneway(method: string, parameters: VarlinkParams = {}): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.socket.write(encode({ method, parameters, oneway: true }), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /** Writes raw bytes (tests use this to send malformed input). */
  writeRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Closes the connection; unanswered calls reject. */
  close(): void {
    this.socket.destroy();
  }

  private send(method: string, parameters: VarlinkParams, opts: VarlinkCallOptions, pending: Pending) {
    if (this.failure) {
      pending.onError(this.failure);
      return;
    }
    this.pending.push(pending);
    this.socket.write(encode({ method, parameters, ...(opts.more ? { more: true } : {}) }));
  }

  private onData(chunk: Buffer) {
    let start = 0;
    for (;;) {
      const nul = chunk.indexOf(0, start);
      if (nul === -1) break;
      const piece = chunk.subarray(start, nul);
      const raw = this.chunks.length === 0 ? piece : Buffer.concat([...this.chunks, piece]);
      this.chunks = [];
      this.bytes = 0;
      start = nul + 1;
      this.onMessage(raw);
      if (this.failure) return;
    }
    if (start < chunk.length) {
      const rest = Buffer.from(chunk.subarray(start));
      this.bytes += rest.length;
      if (this.bytes > this.maxReplyBytes) {
        this.fail(new Error(`varlink reply longer than ${this.maxReplyBytes} bytes`));
        this.socket.destroy();
        return;
      }
      this.chunks.push(rest);
    }
  }

  private onMessage(raw: Buffer) {
    let msg: unknown;
    try {
      msg = JSON.parse(raw.toString('utf8'));
    } catch {
      msg = undefined;
    }
    if (!isPlainObject(msg)) {
      this.fail(new Error('varlink reply is not a JSON object'));
      this.socket.destroy();
      return;
    }
    const head = this.pending[0];
    const parameters = isPlainObject(msg.parameters) ? msg.parameters : {};
    if (typeof msg.error === 'string') {
      const err = new VarlinkCallError(msg.error, parameters, head?.method ?? '(none)');
      if (!head) {
        // An unsolicited error (e.g. the service refusing the connection): every later call fails with it.
        this.fail(err);
        return;
      }
      this.pending.shift();
      head.onError(err);
      return;
    }
    if (!head) {
      this.fail(new Error('varlink reply without a call'));
      this.socket.destroy();
      return;
    }
    const continues = msg.continues === true && head.more;
    if (!continues) this.pending.shift();
    head.onReply({ parameters, continues });
  }

  private fail(err: Error) {
    this.failure ??= err;
    const pending = this.pending.splice(0);
    for (const p of pending) p.onError(this.failure);
  }
}
