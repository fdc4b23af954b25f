// The daemon's own reply marshalling (src/api/dbus/marshal.ts, reply-writer.ts) writes exactly the bytes
// dbus-next 0.10.2 writes for the same method return: every reply signature the daemon uses, 64-bit values
// as bigint or number, empty arrays, alignment after odd offsets, variants and dicts.

import dbus from 'dbus-next';
// @ts-expect-error dbus-next ships no types for its internals
import compat from 'dbus-next/lib/marshall-compat.js';
import { describe, expect, it } from 'vitest';
import { marshalBody } from '../../src/api/dbus/marshal.js';
import { methodReturnBytes, methodReturnHeader } from '../../src/api/dbus/reply-writer.js';

const { Message, Variant } = dbus;

/** dbus-next's bytes for the reply to a call with this serial and sender. */
function dbusNextBytes(
  serial: number,
  call: { serial: number; sender?: string },
  sig: string,
  body: unknown[],
) {
  const msg = Message.newMethodReturn(call as unknown as dbus.Message, sig, body);
  msg.serial = serial;
  const [bytes] = compat.marshallMessage(msg) as [Buffer];
  return bytes;
}

function ours(serial: number, call: { serial: number; sender?: string }, sig: string, body: unknown[]) {
  return methodReturnBytes(serial, call, sig, sig ? marshalBody(sig, body) : Buffer.alloc(0));
}

const image = (i: number) => [
  `${i}`.padStart(64, 'a'),
  [`registry.example:5000/x/y:t${i}`, 'localhost/other:latest'],
  `sha256:${'b'.repeat(64)}`,
  BigInt(1000 + i),
  BigInt(1_700_000_000 + i),
];

const CASES: [string, string, unknown[]][] = [
  ['empty', '', []],
  ['Exists', 'b', [true]],
  ['Exists false', 'b', [false]],
  ['List', 'a(sasstx)', [[image(1), image(2), image(3)]]],
  ['List empty', 'a(sasstx)', [[]]],
  ['List, numbers not bigints', 'a(sasstx)', [[['x', [], '', 5, 7]]]],
  ['List, 64-bit extremes', 'a(sasstx)', [[['x', ['é ü'], '', 0xffffffffffffffffn, -0x7fffffffffffffffn]]]],
  ['List, large safe number', 'a(sasstx)', [[['x', [], '', 2 ** 53 - 1, -5]]]],
  ['ListJobs', 'a(ussso)', [[[7, 'pull', 'q/x:1', 'running', '/org/bootc/Storage/job/7']]]],
  ['strings', 'as', [['a', '', 'bcd', 'ünïcödé']]],
  ['Start', 'uo', [3, '/org/bootc/Storage/job/3']],
  ['deployments', 'a(sss)', [[['a.0', 'booted', 'quay.io/x:1']]]],
  ['bound', 'a(sssb)', [[['x', 'a.0', 'usr/lib/bootc/bound-images.d/a', true]]]],
  ['gc', 'a(sbs)', [[['id', false, 'why']]]],
  ['Get', 'v', [new Variant('t', 12345678901234n)]],
  ['Get string', 'v', [new Variant('s', 'hello')]],
  [
    'GetAll',
    'a{sv}',
    [
      {
        Id: new Variant('u', 1),
        Progress: new Variant('d', 0.5),
        BytesDone: new Variant('t', 99n),
        Result: new Variant('v', new Variant('as', ['x'])),
        Error: new Variant('(ss)', ['a', 'b']),
      },
    ],
  ],
  [
    'GetManagedObjects',
    'a{oa{sa{sv}}}',
    [{ '/org/bootc/Storage/job/1': { 'org.bootc.Storage.Job': { Id: new Variant('u', 1) } } }],
  ],
  ['GetManagedObjects empty', 'a{oa{sa{sv}}}', [{}]],
  ['odd alignment', 'yqnixtd', [1, 2, -3, -4, -5n, 6n, 1.5]],
  ['bytes', 'ay', [Buffer.from([1, 2, 3])]],
  ['introspect', 's', ['<node>\n</node>']],
];

describe('D-Bus reply marshalling', () => {
  for (const [name, sig, body] of CASES) {
    it(`writes what dbus-next writes: ${name} (${sig || 'no body'})`, () => {
      for (const call of [
        { serial: 42, sender: ':1.7' },
        { serial: 0x12345678, sender: ':1.123456' },
        { serial: 9 },
      ]) {
        const expected = dbusNextBytes(1000, call, sig, body).toString('hex');
        expect(ours(1000, call, sig, body).toString('hex')).toBe(expected); // a marshalled body
        expect(methodReturnBytes(1000, call, sig, body).toString('hex')).toBe(expected); // values in place
        const b = sig ? marshalBody(sig, body) : Buffer.alloc(0);
        const split = Buffer.concat([methodReturnHeader(1000, call, sig, b.length), b]); // header, then body
        expect(split.toString('hex')).toBe(expected);
      }
    });
  }

  it('refuses what dbus-next refuses, so the reply falls back to it', () => {
    expect(() => marshalBody('u', [-1])).toThrow();
    expect(() => marshalBody('u', [1.5])).toThrow();
    expect(() => marshalBody('t', [-1n])).toThrow();
    expect(() => marshalBody('x', [2n ** 63n])).toThrow();
    expect(() => marshalBody('x', [-(2n ** 63n)])).toThrow();
    expect(() => marshalBody('s', ['a\0b'])).toThrow();
    expect(() => marshalBody('s', [5])).toThrow();
    expect(() => marshalBody('(ss)', [['a']])).toThrow();
    expect(() => marshalBody('v', ['not a variant'])).toThrow();
    expect(() => marshalBody('as', [])).toThrow();
  });
});
