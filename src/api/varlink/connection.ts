// One Varlink client connection: its own input buffer (NUL-framed JSON, capped), its call queue handled one at
// a time in order, and reply ordering and back-pressure. The server (protocol.ts) accepts and dispatches.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { encode, invalidParameter, isPlainObject, type VarlinkError } from './protocol.js';

/** Calls handled back to back on one connection before yielding to the event loop. */
const CALLS_PER_TURN = 32;
/** How long closing connections get to flush their last replies before they are destroyed. */
export const CLOSE_GRACE_MS = 1000;

/** What a connection needs of its server. */
export interface ConnectionHost {
  readonly maxMessageBytes: number;
  readonly partialMessageTimeoutMs: number;
  dispatch(conn: Connection, msg: Record<string, unknown>): Promise<void>;
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
  private readonly abort = new AbortController();
  private droppedNotifications = 0;

  constructor(
    private readonly server: ConnectionHost,
    readonly socket: Socket,
    readonly id: number,
    private readonly log: Logger,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) =>
      this.log.debug({ connection: id, err: err.message }, 'varlink: socket error'),
    );
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.maybeResume());
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
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (!this.running) this.end();
  }

  destroy(): void {
    this.stopReading();
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
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
    this.armPartialTimer();
    if (this.queuedBytes > max) this.pause();
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
    }
    this.clearPartialTimer();
    if (!this.running) void this.run();
  }

  private onClose(): void {
    this.closed = true;
    this.stopReading();
    this.queue.length = 0;
    this.queuedBytes = 0;
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
    try {
      let handled = 0;
      while (!this.closed && this.queue.length > 0) {
        if (this.socket.writableNeedDrain) {
          // The client is not reading: wait, reading nothing more meanwhile.
          this.pause();
          await waitDrainOrClose(this.socket);
          continue;
        }
        const raw = this.queue.shift()!;
        this.queuedBytes -= raw.length;
        this.maybeResume();
        const msg = parse(raw);
        if (!msg) {
          this.log.warn(
            { connection: this.id },
            'varlink: message is not a JSON object; closing the connection',
          );
          this.queue.length = 0;
          this.queuedBytes = 0;
          this.fatal ??= invalidParameter('message', 'message is not a JSON object');
          this.stopReading();
          break;
        }
        await this.server.dispatch(this, msg);
        if (++handled % CALLS_PER_TURN === 0) await new Promise((r) => setImmediate(r));
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

function parse(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(raw.toString('utf8'));
    return isPlainObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
