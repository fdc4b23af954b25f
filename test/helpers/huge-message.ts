// Huge D-Bus messages built by hand and written raw on a client connection (test/faults/huge-message.test.ts,
// bench/huge-message.ts): dbus-next would take seconds to marshal 2,000,000 strings, and the body is what matters.

import type dbus from 'dbus-next';
// @ts-expect-error dbus-next ships no types for its internals (pinned to 0.10.2 in package.json)
import messageModule from 'dbus-next/lib/message.js';
import { connectionStream } from '../../src/api/dbus/dbus-next-internals.js';
import { callStorage, connectClient } from './daemon.js';

export const METHOD_CALL = 1;
export const SIGNAL = 4;

type Reader = (
  stream: NodeJS.ReadableStream,
  onMessage: (m: Record<string, unknown>) => void,
  opts: object,
) => void;
/** dbus-next's marshaller and reader (untyped): headers are built with it and bodies by hand. */
export const dbusNextMessage = messageModule as {
  marshall(msg: Record<string, unknown>): [Buffer, unknown[]];
  unmarshalMessages: Reader;
};
const { marshall } = dbusNextMessage;

/** Milliseconds since the epoch, sub-ms: comparable across processes (the probers print the same clock). */
export const now = () => performance.timeOrigin + performance.now();

/** The body of an `as` argument holding `count` copies of `s` (ASCII, so length is bytes), little-endian. */
export function stringListBody(count: number, s: string): Buffer {
  const item = Buffer.alloc((4 + s.length + 1 + 3) & ~3);
  item.writeUInt32LE(s.length, 0);
  item.write(s, 4, 'latin1');
  // The array's length ends at the last string's NUL: padding after it is no part of the message.
  const length = count === 0 ? 0 : count * item.length - (item.length - (4 + s.length + 1));
  const body = Buffer.alloc(count * item.length + 4);
  body.writeUInt32LE(length, 0);
  if (count > 0) body.fill(item, 4);
  return body.subarray(0, 4 + length);
}

/** A whole message: dbus-next marshals the header (with an empty `as`), then the body is swapped in. */
export function rawMessage(serial: number, fields: Record<string, unknown>, body: Buffer): Buffer {
  const [empty] = marshall({ serial, signature: 'as', body: [[]], ...fields });
  const head = empty.subarray(0, empty.length - 4); // an empty `as` is 4 bytes: its length
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

export const storageCall = (member: string) => ({
  type: METHOD_CALL,
  destination: 'org.bootc.Storage',
  path: '/org/bootc/Storage',
  interface: 'org.bootc.Storage',
  member,
});

export interface RawReply {
  name: string;
  text: string;
  ms: number;
}

/** Writes a raw method call on `bus` and resolves with its (error) reply and how long it took. */
export function sendRaw(bus: dbus.MessageBus, member: string, body: Buffer): Promise<RawReply> {
  const serial = bus.newSerial();
  const bytes = rawMessage(serial, storageCall(member), body);
  const stream = connectionStream(bus);
  if (!stream) throw new Error('the bus is not connected');
  return new Promise((resolve) => {
    const onMessage = (m: dbus.Message) => {
      if (Number(m.replySerial) !== serial) return; // typed a string; dbus-next gives the number
      bus.off('message', onMessage);
      resolve({ name: m.errorName ?? 'no error', text: String(m.body?.[0] ?? ''), ms: now() - t0 });
    };
    bus.on('message', onMessage);
    const t0 = now();
    stream.write(bytes);
  });
}

/** A client connection that has said Hello and reached the daemon (dbus-next answers Peer.Ping). */
export async function connected(address: string): Promise<dbus.MessageBus> {
  const bus = connectClient(address);
  await callStorage(bus, 'Ping', '', [], { iface: 'org.freedesktop.DBus.Peer' });
  return bus;
}
