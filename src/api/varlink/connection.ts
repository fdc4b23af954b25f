// One Varlink client connection: its own input buffer (NUL-framed JSON, capped, counted against its uid's
// share), its call queue handled one at a time in order (yielding to the event loop after each call, so
// another client's call never waits behind a burst), reply ordering and back-pressure, and an idle timeout.
// The server (protocol.ts) accepts and dispatches.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { MAX_MESSAGE_NESTING, nestsDeeperThan } from './nesting.js';
import { encode, invalidParameter, isPlainObject, type VarlinkError } from './wire.js';

/** How long closing connections get to flush their last replies before they are destroyed. */
export const CLOSE_GRACE_MS = 1000;
/** Complete calls waiting on one connection, in bytes, above which nothing more is read from it. */
const MAX_QUEUED_BYTES = 64 * 1024;

/** What a connection needs of its server. */
export interface ConnectionHost {
  readonly maxMessageBytes: number;
  readonly partialMessageTimeoutMs: number;
  /** A connection with no call running, queued or half-sent for this long is closed (0: never). */
  readonly idleTimeoutMs: number;
  dispatch(conn: Connection, msg: Record<string, unknown>): Promise<void>;
  /** Moves this connection's uid's buffered input by `delta`; false refuses growth past its share. */
  buffer(conn: Connection, delta: number): boolean;
}

/** One client connection: its own input buffer, call queue and reply ordering. */
export class Connection {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private running = false;
  private readEnded = false;
  /** Set once the stream cannot be trusted: reply this after the queued calls, then close. */
  private fatal: VarlinkError | undefined;
  private stopped = false;
  private closed = false;
  private paused = false;
  private partialTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private droppedNotifications = 0;
  /** Input bytes counted against the uid's share (partial + queued, as last reported). */
  private counted = 0;

  constructor(
    private readonly server: ConnectionHost,
    readonly socket: Socket,
    readonly id: number,
    /** The peer's uid as the kernel recorded it at connect (or UNKNOWN_UID). */
    readonly uid: number,
    private readonly log: Logger,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) =>
      this.log.debug({ connection: id, err: err.message }, 'varlink: socket error'),
    );
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.maybeResume());
    this.armIdleTimer();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Writes one message. `droppable` messages are skipped while the client is behind on reading. */
  send(msg: Record<string, unknown>, droppable = false): void {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return;
    if (droppable && this.socket.writableLength > this.server.maxMessageBytes) {
      this.droppedNotifications += 1;
      return;
    }
    let data: string;
    try {
      data = encode(msg);
    } catch (err) {
      this.log.error({ connection: this.id, err: String(err) }, 'varlink: reply cannot be encoded');
      this.destroy();
      return;
    }
    this.socket.write(data);
  }

  /** Stops reading, drops queued calls and closes once the current call (if any) has answered. */
  shutdown(): void {
    this.stopReading();
    this.dropQueue();
    if (!this.running) this.end();
  }

  destroy(): void {
    this.stopReading();
    this.dropQueue();
    this.socket.destroy();
  }

  private dropQueue(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.account();
  }

  /**
   * Reports this connection's buffered input to the uid's share. Growth past the share is refused: the
   * connection is closed as for an oversized message (false).
   */
  private account(): boolean {
    const now = this.partialBytes + this.queuedBytes;
    const delta = now - this.counted;
    if (delta === 0) return true;
    if (!this.server.buffer(this, delta)) return false;
    this.counted = now;
    return true;
  }

  private onData(chunk: Buffer): void {
    this.clearIdleTimer();
    if (this.stopped) return;
    const max = this.server.maxMessageBytes;
    let start = 0;
    for (;;) {
      const nul = chunk.indexOf(0, start);
      if (nul === -1) break;
      const piece = chunk.subarray(start, nul);
      if (this.partialBytes + piece.length > max) {
        this.tooLong();
        return;
      }
      const msg = this.partial.length === 0 ? Buffer.from(piece) : Buffer.concat([...this.partial, piece]);
      this.partial = [];
      this.partialBytes = 0;
      this.queue.push(msg);
      this.queuedBytes += msg.length;
      start = nul + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.partialBytes + rest.length > max) {
        this.tooLong();
        return;
      }
      this.partial.push(Buffer.from(rest)); // a copy: the chunk itself is not kept alive
      this.partialBytes += rest.length;
    }
    if (!this.account()) {
      this.log.warn(
        { connection: this.id, uid: this.uid },
        "varlink: this user's connections hold too much unread input; closing the connection",
      );
      this.protocolError(invalidParameter('message', 'too much input is buffered for this user'));
      return;
    }
    this.armPartialTimer();
    if (this.queuedBytes > MAX_QUEUED_BYTES) this.pause();
    void this.run();
  }

  private tooLong(): void {
    this.log.warn(
      { connection: this.id, limit: this.server.maxMessageBytes },
      'varlink: message longer than the limit without a NUL terminator; closing the connection',
    );
    this.protocolError(
      invalidParameter('message', `message longer than ${this.server.maxMessageBytes} bytes`),
    );
  }

  /** The stream is unusable: read nothing more, answer what came before, then this error, then close. */
  private protocolError(e: VarlinkError): void {
    this.fatal ??= e;
    this.stopReading();
    void this.run();
  }

  private onEnd(): void {
    this.readEnded = true;
    if (this.partialBytes > 0) {
      this.log.debug({ connection: this.id }, 'varlink: connection ended inside a message');
      this.partial = [];
      this.partialBytes = 0;
      this.account();
    }
    this.clearPartialTimer();
    if (!this.running) void this.run();
  }

  private onClose(): void {
    this.closed = true;
    this.stopReading();
    this.dropQueue();
    this.clearIdleTimer();
    this.abort.abort();
    if (this.droppedNotifications > 0)
      this.log.debug(
        { connection: this.id, dropped: this.droppedNotifications },
        'varlink: progress replies dropped for a slow reader',
      );
  }

  /** Handles queued calls one at a time, in order. */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.clearIdleTimer();
    try {
      while (!this.closed && this.queue.length > 0) {
        if (this.socket.writableNeedDrain) {
          // The client is not reading: wait, reading nothing more meanwhile.
          this.pause();
          await waitDrainOrClose(this.socket);
          continue;
        }
        const raw = this.queue.shift()!;
        this.queuedBytes -= raw.length;
        this.account();
        this.maybeResume();
        const msg = parse(raw);
        if (typeof msg === 'string') {
          this.log.warn({ connection: this.id }, `varlink: ${msg}; closing the connection`);
          this.dropQueue();
          this.fatal ??= invalidParameter('message', msg);
          this.stopReading();
          break;
        }
        await this.server.dispatch(this, msg);
        // Every call, however quick, lets other connections' calls in before this one's next.
        if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
    if (this.closed) return;
    if (this.fatal) {
      this.send({ error: this.fatal.error, parameters: this.fatal.parameters });
      this.end();
    } else if (this.readEnded || this.stopped) {
      this.end();
    } else {
      this.armIdleTimer();
    }
  }

  private end(): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.end();
    // allowHalfOpen: a client that never closes its side is let go after a grace period.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private pause(): void {
    if (this.paused || this.stopped) return;
    this.paused = true;
    this.clearPartialTimer();
    this.socket.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.stopped) return;
    if (this.queuedBytes > this.server.maxMessageBytes / 2 || this.socket.writableNeedDrain) return;
    this.paused = false;
    this.socket.resume();
    this.armPartialTimer();
  }

  private stopReading(): void {
    this.stopped = true;
    this.partial = [];
    this.partialBytes = 0;
    this.account();
    this.clearPartialTimer();
    // Keep the socket flowing so the kernel buffer drains, but ignore the bytes (onData returns at once).
    if (this.paused) this.socket.resume();
  }

  private armPartialTimer(): void {
    this.clearPartialTimer();
    if (this.partialBytes === 0 || this.stopped || this.paused) return;
    this.partialTimer = setTimeout(() => {
      this.log.warn(
        { connection: this.id },
        'varlink: message left unfinished too long; closing the connection',
      );
      this.protocolError(invalidParameter('message', 'message left unfinished'));
    }, this.server.partialMessageTimeoutMs);
    this.partialTimer.unref();
  }

  private clearPartialTimer(): void {
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
  }

  /** Nothing running, queued or half-sent: the connection is closed if it stays so (it holds a share). */
  private armIdleTimer(): void {
    this.clearIdleTimer();
    const ms = this.server.idleTimeoutMs;
    if (ms <= 0 || this.closed || this.running || this.queue.length > 0 || this.partialBytes > 0) return;
    this.idleTimer = setTimeout(() => {
      this.log.debug({ connection: this.id, uid: this.uid }, 'varlink: idle connection closed');
      this.shutdown();
    }, ms);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

function waitDrainOrClose(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** A call object, or why the message cannot be one (the stream is then no longer trusted). */
function parse(raw: Buffer): Record<string, unknown> | string {
  if (nestsDeeperThan(raw, MAX_MESSAGE_NESTING))
    return `message nests deeper than ${MAX_MESSAGE_NESTING} levels`;
  try {
    const v: unknown = JSON.parse(raw.toString('utf8'));
    return isPlainObject(v) ? v : 'message is not a JSON object';
  } catch {
    return 'message is not a JSON object';
  }
}
