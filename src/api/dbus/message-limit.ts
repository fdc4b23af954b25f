// Refuses huge D-Bus messages before dbus-next unmarshals them. dbus-next 0.10.2 parses each message's whole
// body on arrival (a 16 MB list of 2,000,000 strings holds the event loop for 0.5-1 s), before any handler or
// authorization runs, and any local user may send one: the system bus lets 32 MiB through. For the
// connections given to it, this replaces dbus-next's reader with one that reads the fixed header and the
// header fields first, and drops a method call or signal whose body is over the limit without reading it into
// memory (a call is answered with InvalidArgument). Replies are never limited. Everything else is parsed
// exactly as dbus-next 0.10.2 (lib/message.js unmarshalMessages) does it, with its own DBusBuffer.
// A refused body still has to come off the socket before the next message can be read, and every Exists behind
// it waits for that. Through the stream, 16 MB is 250 reads of 64 KiB, each into a new buffer, each its own
// turn of the event loop ('readable', read, readStop/readStart): ~18 ms of CPU, 20-90 ms on a busy machine
// (bench/huge-message.ts). So once the stream holds none of it, the rest is read straight from the socket into
// one reused buffer, as much as the socket holds at once (~210 KiB, what the bus's send buffer lets through).

import { readSync } from 'node:fs';
import { Socket } from 'node:net';
import dbus from 'dbus-next';
import { MAX_LIST_ARGS, MAX_REFERENCE_LENGTH } from '../../core/targets.js';
import { createError } from '../../errors.js';
import { noteParsed, TRACE_CALLS } from './call-trace.js';
import {
  connectionStream,
  emitConnectionError,
  HEADER_FIELD_NAMES,
  hasMessageReader,
  isConnected,
  LITTLE_ENDIAN,
  type MessageReader,
  type MessageStream,
  onceConnected,
  type RawMessage,
  readBody,
  readHeaderFields,
  replaceMessageReader,
} from './dbus-next-internals.js';
import { mapErrorToDBus } from './map-error.js';

const MiB = 1024 * 1024;
/** Bytes one string takes in an `as` body: its length word, its bytes, a NUL, padded to 4. */
const wireString = (bytes: number) => (4 + bytes + 1 + 3) & ~3;
/**
 * The largest Remove/Prune body worth parsing: MAX_LIST_ARGS (4096) strings at the reference parser's raw cap
 * (MAX_REFERENCE_LENGTH, 1024 ASCII characters), so that the parser, not this limit, names what is wrong
 * with a long entry: 4 + 4096 × 1032 = 4,227,076 bytes (4.03 MiB). 4096 valid references take at most
 * 4 + 4096 × 528 = 2,162,692 bytes: the longest is 520 characters (a 255-character repository, ":", a
 * 128-character tag, "@sha512:" and 128 hex digits).
 */
const LARGEST_LIST_BODY = 4 + MAX_LIST_ARGS * wireString(MAX_REFERENCE_LENGTH);
/** The `as` limit (Remove, Prune): the largest list body + 25 %, rounded up to a MiB: 6 MiB today. */
export const MAX_LIST_CALL_BYTES = Math.ceil((LARGEST_LIST_BODY * 1.25) / MiB) * MiB;
/**
 * Every other message: the largest call is Pull(ss), two strings that server.ts caps at 4096 and 64
 * characters (≤ 3 bytes of UTF-8 each): under 13 KiB. Signals the daemon gets (NameOwnerChanged, polkit's
 * Changed) are tiny. 64 KiB of the cheapest elements (2-byte `an`/`ag`) still parse in a few ms.
 */
export const MAX_CALL_BYTES = 64 * 1024;

/** The limits bootc-storaged applies to its system bus connection. */
export const STORAGE_MESSAGE_LIMITS = {
  maxBodyBytes: MAX_CALL_BYTES,
  maxBodyBytesBySignature: { as: MAX_LIST_CALL_BYTES },
  // A body under the byte limit may still hold 780,000 empty strings (~0.1 s to unmarshal): count first.
  maxListItems: MAX_LIST_ARGS,
} as const;

/** A refused message, as it may be logged: header facts and sizes, never the content. */
export interface RefusedMessage {
  type: 'method_call' | 'signal';
  sender: string | undefined;
  interface: string | undefined;
  member: string | undefined;
  signature: string;
  bodyBytes: number;
  /** The byte limit the body exceeded, or the list limit when `items` is set. */
  limit: number;
  /** Set when the body was small enough but its list was too long (counted up to `limit` + 1). */
  items?: number;
}

/** What limitIncomingMessages refuses, and whom it tells. */
export interface MessageLimits {
  /** The largest body accepted in a method call or signal. */
  maxBodyBytes: number;
  /** Larger (or smaller) limits for bodies of one signature, e.g. `as` for a list of references. */
  maxBodyBytesBySignature?: Readonly<Record<string, number>>;
  /** For a body that is one list of strings (`as`): the most entries accepted, counted before parsing. */
  maxListItems?: number;
  /** Told about each message refused (a call is also answered with InvalidArgument). */
  onRefused?: (refused: RefusedMessage) => void;
  /** Told when a refused body has been read and thrown away, and how (for tests and benchmarks). */
  onDiscarded?: (discarded: DiscardedBody) => void;
}

/** How the bytes of one refused body left the socket. */
export interface DiscardedBody {
  bodyBytes: number;
  /** Bytes the stream had already read (in its own 64 KiB chunks) and handed over. */
  fromStream: number;
  /** Bytes read straight from the socket into the one reused buffer, and in how many reads. */
  fromSocket: number;
  socketReads: number;
}

const METHOD_CALL = 1;
const SIGNAL = 4;
const NO_REPLY_EXPECTED = 0x1;
const HEADER_BYTES = 16;
const EMPTY = Buffer.alloc(0);
/**
 * The buffer a refused body is read into and overwritten, allocated on the first refusal: more than a unix socket
 * holds with the sender's default send buffer (208 KiB; the bus writes 219,264 bytes at a time), so one read
 * empties it.
 */
const DISCARD_BUFFER_BYTES = 256 * 1024;
/** At most this much of a refused body is read in one turn of the event loop: other connections have theirs. */
const DISCARD_PER_TURN = 1024 * 1024;
let discardBuffer: Buffer | undefined;
interface Limiter extends MessageLimits {
  bus: dbus.MessageBus;
  reading: boolean;
}

const limited = new WeakMap<object, Limiter>();
let installed = false;

/**
 * Limits the method calls and signals `bus` receives; call it right after creating the bus (dbus-next
 * starts its reader once the handshake is done, on a later tick). Throws when that is too late.
 */
export function limitIncomingMessages(bus: dbus.MessageBus, limits: MessageLimits): void {
  const stream = connectionStream(bus);
  if (typeof stream?.read !== 'function' || !hasMessageReader()) {
    throw createError('InvalidArgument', 'not a dbus-next 0.10 connection: its messages cannot be limited');
  }
  if (isConnected(bus)) {
    throw createError('InvalidArgument', 'the bus connection already reads messages: limit it when created');
  }
  if (!installed) {
    installed = true;
    // dbus-next looks its reader up when a handshake ends (dbus-next-internals.ts): any other stream keeps it.
    replaceMessageReader(
      (original) =>
        function (this: unknown, s: MessageStream, onMessage, opts) {
          const limiter = limited.get(s);
          if (!limiter) return original.call(this, s, onMessage, opts);
          limiter.reading = true;
          readMessages(s, onMessage, opts, limiter);
        } satisfies MessageReader,
    );
  }
  const limiter: Limiter = { ...limits, bus, reading: false };
  limited.set(stream, limiter);
  // dbus-next starts its reader right after 'connect'; if ours was not started, nothing is limited: say so.
  onceConnected(bus, () =>
    setImmediate(() => {
      if (!limiter.reading) {
        emitConnectionError(bus, new Error('the D-Bus message size limit is not in effect'));
      }
    }),
  );
}

/** dbus-next's unmarshalMessages, reading header fields before the body so a huge body can be dropped. */
function readMessages(
  stream: MessageStream,
  onMessage: (msg: RawMessage) => void,
  opts: unknown,
  limiter: Limiter,
): void {
  let header: Buffer | undefined;
  let message: RawMessage | undefined; // the header fields of the message being read
  let fds: unknown[] | undefined;
  let dropping = 0; // bytes of a refused body still to be read and thrown away
  let discarded: DiscardedBody | undefined; // how they went, when someone wants to know
  let parseStart = 0n; // when tracing (call-trace.ts): when this message's header fields began to be parsed
  const take = (size: number): Buffer | undefined => {
    const chunk = stream.read(size);
    if (!chunk) return undefined;
    const data = Buffer.isBuffer(chunk) ? chunk : chunk.data;
    if (!Buffer.isBuffer(chunk)) fds = chunk.fds ?? fds;
    // Shorter only when the stream ended mid-message: nothing more will come, so there is nothing to parse.
    return data.length === size ? data : undefined;
  };
  stream.on('readable', () => {
    let budget = DISCARD_PER_TURN; // what may still be read from the socket in this turn
    for (;;) {
      if (dropping > 0) {
        if (stream.readableLength === 0 && budget > 0) {
          // Nothing buffered: take the rest from the socket, up to what it holds now (a short read says so).
          const want = Math.min(dropping, budget, DISCARD_BUFFER_BYTES);
          const n = discardFromSocket(stream, want);
          budget = n < want ? 0 : budget - n;
          if (n > 0) {
            dropping -= n;
            if (discarded) {
              discarded.fromSocket += n;
              discarded.socketReads += 1;
            }
            if (dropping === 0) discardedAll(limiter, discarded);
            continue;
          }
        }
        // Only what is already buffered, one read at a time: the stream never holds the whole body. (Asking
        // for 1 byte of an empty stream returns nothing and has it read the socket again.)
        const chunk = take(Math.min(dropping, Math.max(1, stream.readableLength)));
        if (!chunk) return;
        dropping -= chunk.length;
        if (discarded) discarded.fromStream += chunk.length;
        if (dropping === 0) discardedAll(limiter, discarded);
        continue;
      }
      if (!header) {
        header = take(HEADER_BYTES);
        if (!header) return;
        fds = undefined;
      }
      const h = header;
      const u32 = (at: number) => (h[0] === LITTLE_ENDIAN ? h.readUInt32LE(at) : h.readUInt32BE(at));
      const bodyBytes = u32(4);
      if (!message) {
        const fieldBytes = u32(12);
        const padded = ((fieldBytes + 7) >> 3) << 3;
        const fields = padded > 0 ? take(padded) : EMPTY;
        if (!fields) return;
        if (TRACE_CALLS) parseStart = process.hrtime.bigint();
        message = parseFields(h, fields, fieldBytes, u32(8), fds, opts);
        const limit = limitFor(limiter, message);
        if (limit !== undefined && bodyBytes > limit) {
          const refused = message;
          dropping = bodyBytes;
          discarded = limiter.onDiscarded
            ? { bodyBytes, fromStream: 0, fromSocket: 0, socketReads: 0 }
            : undefined;
          header = message = undefined;
          refuse(limiter, refused, bodyBytes, limit);
          continue;
        }
      }
      const body = bodyBytes > 0 ? take(bodyBytes) : EMPTY;
      if (!body) return;
      const msg = message;
      header = message = undefined;
      const items = countListItems(limiter, msg, body, h[0] === LITTLE_ENDIAN);
      if (items !== undefined) {
        refuse(limiter, msg, bodyBytes, limiter.maxListItems!, items);
        continue;
      }
      if (bodyBytes > 0 && msg.signature) {
        msg.body = readBody(body, h[0]!, msg.signature as string, fds, opts);
      }
      if (TRACE_CALLS) noteParsed(parseStart);
      onMessage(msg);
    }
  });
}

/**
 * Reads up to `max` bytes from the socket under `stream` into the discard buffer, bypassing the stream: 0 when
 * the socket is empty (EAGAIN: libuv makes every socket it opens or adopts non-blocking), at its end, or when the
 * stream is no socket with a descriptor (then the stream reads as usual). Only bytes the stream has not read yet are
 * taken, and never more than the refused body still holds, so the stream's next read starts at the next message.
 */
function discardFromSocket(stream: MessageStream, max: number): number {
  // A plain net.Socket (what dbus-next connects with): a subclass such as a TLS socket has other bytes on its fd.
  if (Object.getPrototypeOf(stream) !== Socket.prototype) return 0;
  const fd = (stream as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 0;
  discardBuffer ??= Buffer.allocUnsafeSlow(DISCARD_BUFFER_BYTES);
  try {
    return readSync(fd, discardBuffer, 0, Math.min(max, discardBuffer.length), null);
  } catch {
    return 0; // EAGAIN; any other error is the stream's to find on its own next read
  }
}

function discardedAll(limiter: Limiter, discarded: DiscardedBody | undefined): void {
  if (!discarded) return;
  try {
    limiter.onDiscarded?.(discarded);
  } catch {
    // as for onRefused: nothing may escape into the stream's 'readable' event
  }
}

/** The header as dbus-next builds it: serial, type, flags and one property per header field. */
function parseFields(
  header: Buffer,
  fields: Buffer,
  fieldBytes: number,
  serial: number,
  fds: unknown[] | undefined,
  opts: unknown,
): RawMessage {
  const parsed = readHeaderFields(fields, header[0]!, fieldBytes, fds, opts);
  const message: RawMessage = { serial, type: header[1]!, flags: header[2]! };
  for (const [code, [, [value]]] of parsed) message[String(HEADER_FIELD_NAMES[code])] = value;
  return message;
}

/** The byte limit for a method call or signal; replies are not limited. */
function limitFor(limiter: Limiter, message: RawMessage): number | undefined {
  if (message.type !== METHOD_CALL && message.type !== SIGNAL) return undefined;
  const signature = String(message.signature ?? '');
  const bySignature = limiter.maxBodyBytesBySignature;
  return bySignature && Object.hasOwn(bySignature, signature) ? bySignature[signature] : limiter.maxBodyBytes;
}

/** For an `as` call or signal over the item limit: the count (stopped at limit + 1); else undefined. */
function countListItems(
  limiter: Limiter,
  message: RawMessage,
  body: Buffer,
  littleEndian: boolean,
): number | undefined {
  const max = limiter.maxListItems;
  if (max === undefined || message.signature !== 'as' || limitFor(limiter, message) === undefined) {
    return undefined;
  }
  const u32 = (at: number) => (littleEndian ? body.readUInt32LE(at) : body.readUInt32BE(at));
  if (body.length < 4) return undefined;
  const end = Math.min(body.length, 4 + u32(0));
  let items = 0;
  for (let at = 4; at + 4 <= end && items <= max; items++) {
    const length = u32(at);
    if (length > end) break; // not a list of strings after all (the bus validates bodies; belt and braces)
    at += wireString(length);
  }
  return items > max ? items : undefined;
}

/** Reports a refused message and answers a call (that wants an answer) with InvalidArgument. */
function refuse(limiter: Limiter, message: RawMessage, bodyBytes: number, limit: number, items?: number) {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const type = message.type === METHOD_CALL ? 'method_call' : 'signal';
  // Nothing thrown here may escape into the stream's 'readable' event: the reader would be left behind.
  try {
    limiter.onRefused?.({
      type,
      sender: str(message.sender),
      interface: str(message.interface),
      member: str(message.member),
      signature: String(message.signature ?? ''),
      bodyBytes,
      limit,
      ...(items === undefined ? {} : { items }),
    });
  } catch {
    // a failing logger must not stop the limit
  }
  if (type !== 'method_call' || (message.flags & NO_REPLY_EXPECTED) !== 0) return;
  const text =
    items === undefined
      ? `the call's arguments are ${bodyBytes} bytes; at most ${limit} are accepted`
      : `the call's list holds more than ${limit} entries; at most ${limit} are accepted`;
  const { name, message: wireText } = mapErrorToDBus(createError('InvalidArgument', text), false);
  // Message.newError reads only the serial and the sender of the message it answers.
  const to = { serial: message.serial, sender: message.sender } as unknown as string;
  try {
    limiter.bus.send(dbus.Message.newError(to, name, wireText));
  } catch {
    // the connection is closing: there is no one left to answer
  }
}
