// Method returns written straight to the bus connection's socket: the header built in one buffer and the body
// marshalled by marshal.ts, or given ready-made (List's body is cached per view snapshot). The bytes are what
// dbus-next's bus.send writes for Message.newMethodReturn (a unit test holds them equal); only the way there
// is shorter. A bus that is not a connected dbus-next 0.10 connection (a test's fake) gets bus.send.

import dbus from 'dbus-next';
import { connectionStream, isConnected, LITTLE_ENDIAN, type ReplyStream } from './dbus-next-internals.js';
import { signatureTree, WireWriter, writeValue } from './marshal.js';

const METHOD_RETURN = 2;
const PROTOCOL_VERSION = 1;
const FIELD_REPLY_SERIAL = 5;
const FIELD_DESTINATION = 6;
const FIELD_SIGNATURE = 8;

/** A body at least this large goes out after its header as a second chunk of one writev, not copied. */
const SEPARATE_BODY_BYTES = 1024;

type Call = { serial: number | null; sender?: string | null };

/** The fixed header and the header fields (reply serial, destination, signature), padded to 8. */
function writeHeader(w: WireWriter, serial: number, call: Call, signature: string, bodyLength: number): void {
  w.u8(LITTLE_ENDIAN);
  w.u8(METHOD_RETURN);
  w.u8(0);
  w.u8(PROTOCOL_VERSION);
  w.u32(bodyLength);
  w.u32(serial);
  w.u32(0); // the header fields' length, filled in below
  const lengthAt = w.at - 4;
  w.align(8);
  const start = w.at;
  const field = (code: number, type: string) => {
    w.align(8);
    w.u8(code);
    w.sig(type);
  };
  if (call.serial) {
    field(FIELD_REPLY_SERIAL, 'u');
    w.u32(call.serial);
  }
  if (call.sender) {
    field(FIELD_DESTINATION, 's');
    w.str(call.sender);
  }
  if (signature) {
    field(FIELD_SIGNATURE, 'g');
    w.sig(signature);
  }
  w.buf.writeUInt32LE(w.at - start, lengthAt);
  w.align(8);
}

const headerSize = (call: Call, signature: string) => 64 + (call.sender?.length ?? 0) + signature.length;

/** A method return's header alone, for a body of `bodyLength` bytes sent right after it. */
export function methodReturnHeader(
  serial: number,
  call: Call,
  signature: string,
  bodyLength: number,
): Buffer {
  const w = new WireWriter(headerSize(call, signature));
  writeHeader(w, serial, call, signature, bodyLength);
  return w.buf.subarray(0, w.at);
}

/**
 * A method return's bytes: header and body, given marshalled (marshalBody) or as values written in place (the
 * header is padded to 8, so the body's alignment is the same either way).
 */
export function methodReturnBytes(
  serial: number,
  call: Call,
  signature: string,
  body: Buffer | readonly unknown[],
): Buffer {
  const w = new WireWriter(headerSize(call, signature) + (Buffer.isBuffer(body) ? body.length : 64));
  writeHeader(w, serial, call, signature, 0);
  const bodyStart = w.at;
  if (Buffer.isBuffer(body)) {
    w.reserve(body.length);
    body.copy(w.buf, w.at);
    w.at += body.length;
  } else {
    const tree = signatureTree(signature);
    if (tree.length !== body.length)
      throw new Error(
        `Expected ${tree.length} body elements for signature '${signature}' (got ${body.length})`,
      );
    for (let i = 0; i < tree.length; i++) writeValue(w, tree[i]!, body[i]);
  }
  w.buf.writeUInt32LE(w.at - bodyStart, 4);
  return w.buf.subarray(0, w.at);
}

/** Sends method returns on one bus connection. */
export class ReplyWriter {
  constructor(private readonly bus: dbus.MessageBus) {}

  /** Whether replies go straight to the socket: a connected dbus-next connection (not a test's fake bus). */
  get direct(): boolean {
    return this.stream() !== undefined;
  }

  /** The socket replies are written to, when they may be (a connected bus that hands out serials). */
  private stream(): ReplyStream | undefined {
    if (!isConnected(this.bus) || typeof this.bus.newSerial !== 'function') return undefined;
    return connectionStream(this.bus);
  }

  /** The reply to `call` with these values (dbus-next's JS form), or a body already marshalled by marshalBody. */
  send(
    call: dbus.Message,
    signature: string,
    body: readonly unknown[] | Buffer,
    trace?: { mark(stage: string): void },
  ): void {
    const bus = this.bus;
    const stream = this.stream();
    if (
      stream &&
      Buffer.isBuffer(body) &&
      body.length >= SEPARATE_BODY_BYTES &&
      stream.cork &&
      !stream.supportsUnixFd
    ) {
      // A big ready-made body (List's, cached) is not copied: the header and it leave in one writev.
      const header = methodReturnHeader(bus.newSerial(), call, signature, body.length);
      trace?.mark('header');
      if (!stream.writable) throw new Error('Cannot send message, stream is closed');
      stream.cork();
      stream.write(header);
      stream.write(body);
      stream.uncork?.();
      return;
    }
    let bytes: Buffer | undefined;
    if (stream) {
      try {
        bytes = methodReturnBytes(bus.newSerial(), call, signature, body);
      } catch {
        // A value the fast path does not take: dbus-next's own path names what is wrong (or sends it).
      }
    }
    if (!stream || !bytes) {
      if (Buffer.isBuffer(body)) throw new Error('a marshalled body needs a connected bus');
      this.bus.send(dbus.Message.newMethodReturn(call, signature, [...body]));
      return;
    }
    trace?.mark('header');
    if (!stream.writable) throw new Error('Cannot send message, stream is closed');
    if (stream.supportsUnixFd) stream.write({ data: bytes, fds: [] });
    else stream.write(bytes);
  }
}
