// Refuses huge D-Bus messages before dbus-next unmarshals them. dbus-next 0.10.2 parses each message's whole
// body on arrival (a 16 MB list of 2,000,000 strings holds the event loop for 0.5-1 s), before any handler or
// authorization runs, and any local user may send one: the system bus lets 32 MiB through. For the
// connections given to it, this replaces dbus-next's reader with one that reads the fixed header and the
// header fields first, and drops a method call or signal whose body is over the limit without reading it into
// memory (a call is answered with InvalidArgument). Replies are never limited. Everything else is parsed
// exactly as dbus-next 0.10.2 (lib/message.js unmarshalMessages) does it, with its own DBusBuffer.

import dbus from 'dbus-next';
// @ts-expect-error dbus-next ships no types for its internals (pinned to 0.10.2 in package.json)
import constants from 'dbus-next/lib/constants.js';
// @ts-expect-error as above
import DBusBuffer from 'dbus-next/lib/dbus-buffer.js';
// @ts-expect-error as above
import messageModule from 'dbus-next/lib/message.js';
import { MAX_LIST_ARGS, MAX_REFERENCE_LENGTH } from '../../core/targets.js';
import { createError } from '../../errors.js';
import { noteParsed, TRACE_CALLS } from './call-trace.js';
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
}

const METHOD_CALL = 1;
const SIGNAL = 4;
const NO_REPLY_EXPECTED = 0x1;
const HEADER_BYTES = 16;
const EMPTY = Buffer.alloc(0);
const LITTLE_ENDIAN: number = constants.endianness.le;
const FIELD_NAMES: readonly (string | null)[] = constants.headerTypeName;
/** The element of the header-field array, a(yv), as dbus-next's signature parser spells it. */
const FIELD_TREE = {
  type: '(',
  child: [
    { type: 'y', child: [] },
    { type: 'v', child: [] },
  ],
};

type Chunk = Buffer | { data: Buffer; fds?: unknown[] };
interface MessageStream {
  readableLength: number;
  read(size: number): Chunk | null;
  on(event: 'readable', listener: () => void): unknown;
}
type RawMessage = Record<string, unknown> & { serial: number; type: number; flags: number };
type Reader = (stream: MessageStream, onMessage: (msg: RawMessage) => void, opts: unknown) => void;
interface Connection {
  stream?: MessageStream;
  state?: string;
  once(event: 'connect', listener: () => void): unknown;
  emit(event: 'error', err: Error): boolean;
}
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
  const conn = (bus as unknown as { _connection?: Connection })._connection;
  const stream = conn?.stream;
  if (!conn || typeof stream?.read !== 'function' || typeof messageModule?.unmarshalMessages !== 'function') {
    throw createError('InvalidArgument', 'not a dbus-next 0.10 connection: its messages cannot be limited');
  }
  if (conn.state === 'connected') {
    throw createError('InvalidArgument', 'the bus connection already reads messages: limit it when created');
  }
  if (!installed) {
    const original: Reader = messageModule.unmarshalMessages;
    installed = true;
    // connection.js looks the reader up on the module when the handshake ends: any other stream keeps it.
    messageModule.unmarshalMessages = function (this: unknown, s: MessageStream, onMessage, opts) {
      const limiter = limited.get(s);
      if (!limiter) return original.call(this, s, onMessage, opts);
      limiter.reading = true;
      readMessages(s, onMessage, opts, limiter);
    } satisfies Reader;
  }
  const limiter: Limiter = { ...limits, bus, reading: false };
  limited.set(stream, limiter);
  // dbus-next starts its reader right after 'connect'; if ours was not started, nothing is limited: say so.
  conn.once('connect', () =>
    setImmediate(() => {
      if (!limiter.reading) conn.emit('error', new Error('the D-Bus message size limit is not in effect'));
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
    for (;;) {
      if (dropping > 0) {
        // Only what is already buffered: the stream never has to hold the whole body.
        const chunk = take(Math.min(dropping, Math.max(1, stream.readableLength)));
        if (!chunk) return;
        dropping -= chunk.length;
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
        msg.body = new DBusBuffer(body, 0, h[0], fds, opts).read(msg.signature);
      }
      if (TRACE_CALLS) noteParsed(parseStart);
      onMessage(msg);
    }
  });
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
  const parsed: [number, [unknown, [unknown]]][] = new DBusBuffer(fields, 0, header[0], fds, opts).readArray(
    FIELD_TREE,
    fieldBytes,
  );
  const message: RawMessage = { serial, type: header[1]!, flags: header[2]! };
  for (const [code, [, [value]]] of parsed) message[String(FIELD_NAMES[code])] = value;
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
