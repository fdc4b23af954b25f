// dbus-next's internals, behind one door. dbus-next 0.10.2 has no public way to do what three measured parts
// of the daemon need: read a message's header before its body (message-limit.ts refuses a 16 MB call without
// unmarshalling it), marshal a reply without its per-value Buffers and write it to the socket (marshal.ts,
// reply-writer.ts: List answered in microseconds), and hear that the connection ended (the MessageBus emits
// nothing; daemon.ts exits, the CLI reports the job lost). This module alone imports dbus-next's private modules
// (`dbus-next/lib/*.js`) and alone reaches into a MessageBus's `_connection` and its stream; everything else
// gets the small typed functions below. What it relies on is dbus-next DBUS_NEXT_VERSION's code:
// test/unit/dbus-next-internals.test.ts fails when another version is installed or a piece used here changed
// shape. It imports nothing of src/, so the CLI (src/cli/bus-client.ts) may use it without the daemon's code;
// the private modules it loads are the ones dbus-next's own index already loads.

import type dbus from 'dbus-next';
// @ts-expect-error dbus-next ships no types for its internals: each is typed once, below
import constants from 'dbus-next/lib/constants.js';
// @ts-expect-error as above
import DBusBufferModule from 'dbus-next/lib/dbus-buffer.js';
// @ts-expect-error as above
import messageModule from 'dbus-next/lib/message.js';
// @ts-expect-error as above
import signatureModule from 'dbus-next/lib/signature.js';

/** The dbus-next release this file was written against (package.json pins it; a unit test compares both). */
export const DBUS_NEXT_VERSION = '0.10.2';

/** One element of a parsed signature, as dbus-next's parser returns it: marshal.ts walks these trees. */
export interface SignatureElement {
  type: string;
  child: SignatureElement[];
}

/** What the connection's stream yields: a Buffer, or usocket's data with the fds that came with it. */
export type StreamChunk = Buffer | { data: Buffer; fds?: unknown[] };

/** The read side of a connection's stream, as dbus-next's message reader uses it (message-limit.ts reads it). */
export interface MessageStream {
  readableLength: number;
  read(size: number): StreamChunk | null;
  on(event: 'readable', listener: () => void): unknown;
}

/** The write side of a connection's stream, as dbus-next's connection writes (reply-writer.ts writes it). */
export interface ReplyStream {
  writable: boolean;
  /** Set by usocket (unix fd passing): then every write is `{data, fds}`. */
  supportsUnixFd?: boolean;
  write(chunk: Buffer | { data: Buffer; fds: number[] }): boolean;
  cork?(): void;
  uncork?(): void;
}

/** A message as dbus-next's reader hands it on: serial, type, flags, one property per header field, body. */
export type RawMessage = Record<string, unknown> & { serial: number; type: number; flags: number };

/** What dbus-next passes its reader besides the stream (the bus's options), handed on to DBusBuffer as is. */
export type ReaderOptions = unknown;

/** dbus-next's message reader (lib/message.js unmarshalMessages): reads `stream`, calls `onMessage` per message. */
export type MessageReader = (
  stream: MessageStream,
  onMessage: (msg: RawMessage) => void,
  opts: ReaderOptions,
) => void;

/** One header field as DBusBuffer reads `a(yv)`: its code and the variant, [signature tree, [value]]. */
export type HeaderField = [code: number, variant: [signature: unknown, value: [unknown]]];

interface DBusBuffer {
  read(signature: string): unknown[];
  readArray(element: SignatureElement, bytes: number): unknown[];
}
type DBusBufferClass = new (
  buffer: Buffer,
  startPos: number,
  endianness: number,
  fds: unknown[] | undefined,
  opts: ReaderOptions,
) => DBusBuffer;

/** A MessageBus's connection (lib/connection.js): an EventEmitter with the socket as `stream`. */
interface Connection {
  stream?: MessageStream & ReplyStream & Partial<Emitter>;
  /** 'connected' once the handshake is done (and dbus-next's reader runs). */
  state?: string;
  once?: Emitter['once'];
  emit?(event: 'error', err: Error): boolean;
}
interface Emitter {
  once(event: string, listener: () => void): unknown;
}

const DBusBufferImpl: DBusBufferClass = DBusBufferModule;
const messageExports: { unmarshalMessages?: MessageReader } = messageModule;
const signatureParser: (signature: string) => SignatureElement[] = signatureModule.parseSignature;
/** The element of the header-field array, a(yv), as dbus-next's signature parser spells it. */
const FIELD_TREE: SignatureElement = {
  type: '(',
  child: [
    { type: 'y', child: [] },
    { type: 'v', child: [] },
  ],
};

/** The first byte of a little-endian message ('l'): a reader needs it to read the fixed header's numbers. */
export const LITTLE_ENDIAN: number = constants.endianness.le;

/** The message property each header field code becomes (dbus-next's names, which its Message reads). */
export const HEADER_FIELD_NAMES: readonly (string | null)[] = constants.headerTypeName;

/** dbus-next's own signature parser: the fast marshaller accepts and refuses exactly what dbus-next does. */
export function parseSignature(signature: string): SignatureElement[] {
  return signatureParser(signature);
}

/** A message's header fields (`fieldBytes` of them, unpadded), read as dbus-next's reader reads them. */
export function readHeaderFields(
  fields: Buffer,
  endianness: number,
  fieldBytes: number,
  fds: unknown[] | undefined,
  opts: ReaderOptions,
): HeaderField[] {
  return new DBusBufferImpl(fields, 0, endianness, fds, opts).readArray(
    FIELD_TREE,
    fieldBytes,
  ) as HeaderField[];
}

/** A message body (starting at an 8-aligned offset of its message), unmarshalled as dbus-next does it. */
export function readBody(
  body: Buffer,
  endianness: number,
  signature: string,
  fds: unknown[] | undefined,
  opts: ReaderOptions,
): unknown[] {
  return new DBusBufferImpl(body, 0, endianness, fds, opts).read(signature);
}

/** Whether dbus-next's message reader is where this file expects it (message-limit.ts refuses to run without). */
export function hasMessageReader(): boolean {
  return typeof messageExports.unmarshalMessages === 'function';
}

/**
 * Puts `make(dbus-next's reader)` in the reader's place. lib/connection.js looks the reader up on lib/message.js
 * each time a handshake ends, so every connection made afterwards is read by it (message-limit.ts's limit).
 */
export function replaceMessageReader(make: (original: MessageReader) => MessageReader): void {
  const original = messageExports.unmarshalMessages;
  if (typeof original !== 'function')
    throw new Error(`not dbus-next ${DBUS_NEXT_VERSION}: no message reader`);
  messageExports.unmarshalMessages = make(original);
}

/** The bus's connection; the MessageBus keeps it private (`_connection`) and exposes nothing of it. */
function connectionOf(bus: dbus.MessageBus): Connection | undefined {
  const conn = (bus as unknown as { _connection?: Connection })._connection;
  return conn !== null && typeof conn === 'object' ? conn : undefined;
}

/** The socket under the bus, from its creation on: the limit keys on it, replies are written to it. */
export function connectionStream(bus: dbus.MessageBus): (MessageStream & ReplyStream) | undefined {
  return connectionOf(bus)?.stream;
}

/** Whether the handshake is done and dbus-next reads messages: too late for a limit, ready for direct writes. */
export function isConnected(bus: dbus.MessageBus): boolean {
  return connectionOf(bus)?.state === 'connected';
}

/** Calls `fn` once the handshake is done, just before dbus-next starts its reader on the stream. */
export function onceConnected(bus: dbus.MessageBus, fn: () => void): void {
  connectionOf(bus)?.once?.('connect', fn);
}

/** Fails the connection with `err`: dbus-next forwards it as the MessageBus's 'error' (the daemon logs it). */
export function emitConnectionError(bus: dbus.MessageBus, err: Error): void {
  connectionOf(bus)?.emit?.('error', err);
}

/**
 * Calls `fn` once when the connection ends: its 'end' for an orderly close, or its stream's 'close', which also
 * covers a socket destroyed by an error. The MessageBus itself emits nothing then. Throws for a bus that is no
 * dbus-next connection, since nobody would ever be told.
 */
export function onConnectionEnd(bus: dbus.MessageBus, fn: () => void): void {
  const conn = connectionOf(bus);
  if (typeof conn?.once !== 'function') {
    throw new Error(`not a dbus-next ${DBUS_NEXT_VERSION} connection: its end cannot be heard`);
  }
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    fn();
  };
  conn.once('end', end);
  conn.stream?.once?.('close', end);
}
