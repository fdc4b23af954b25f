// The door to dbus-next's internals (src/api/dbus/dbus-next-internals.ts) was written against one release of
// dbus-next. This fails loudly when another release is installed, or when a private module, function or field
// the door relies on is gone or changed shape: re-read the door against the new release, then change
// DBUS_NEXT_VERSION. It also drives the door on a real dbus-next connection (a fake bus on a unix socket that
// does the SASL handshake), and holds the rule that nothing else under src/ reaches into dbus-next.

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import dbus from 'dbus-next';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectionStream,
  DBUS_NEXT_VERSION,
  emitConnectionError,
  HEADER_FIELD_NAMES,
  hasMessageReader,
  isConnected,
  LITTLE_ENDIAN,
  type MessageStream,
  onConnectionEnd,
  onceConnected,
  parseSignature,
  readBody,
  readHeaderFields,
  replaceMessageReader,
} from '../../src/api/dbus/dbus-next-internals.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

const REPO = join(import.meta.dirname, '../..');
const DOOR = 'src/api/dbus/dbus-next-internals.ts';
const req = createRequire(join(REPO, 'package.json'));
const DBUS_NEXT_DIR = dirname(req.resolve('dbus-next/package.json'));
const lib = (name: string) => req(`dbus-next/lib/${name}.js`);
const libSource = (name: string) => readFileSync(join(DBUS_NEXT_DIR, 'lib', `${name}.js`), 'utf8');

describe('the installed dbus-next', () => {
  it(`is ${DBUS_NEXT_VERSION}, the release ${DOOR} was written against, and package.json pins it`, () => {
    const installed = JSON.parse(readFileSync(join(DBUS_NEXT_DIR, 'package.json'), 'utf8')).version;
    expect(
      installed,
      `dbus-next ${installed} is installed; ${DOOR} reaches into ${DBUS_NEXT_VERSION}'s private modules. ` +
        'Re-read each of them (this file lists what is used), then change DBUS_NEXT_VERSION.',
    ).toBe(DBUS_NEXT_VERSION);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    expect(pkg.dependencies['dbus-next'], 'package.json must pin dbus-next exactly').toBe(DBUS_NEXT_VERSION);
  });

  it('has each private module, function and field the door uses, with the expected shape', () => {
    // lib/constants.js: the little-endian mark and the header field names, by code.
    const constants = lib('constants');
    expect(constants.endianness.le).toBe('l'.charCodeAt(0));
    expect(constants.headerTypeName).toEqual([
      null,
      'path',
      'interface',
      'member',
      'errorName',
      'replySerial',
      'destination',
      'sender',
      'signature',
      'unixFd',
    ]);
    // lib/signature.js: parseSignature(s) → [{type, child}].
    expect(lib('signature').parseSignature('a(sasstx)v')).toEqual([
      {
        type: 'a',
        child: [
          {
            type: '(',
            child: [
              { type: 's', child: [] },
              { type: 'a', child: [{ type: 's', child: [] }] },
              { type: 's', child: [] },
              { type: 't', child: [] },
              { type: 'x', child: [] },
            ],
          },
        ],
      },
      { type: 'v', child: [] },
    ]);
    expect(() => lib('signature').parseSignature('a')).toThrow();
    // lib/dbus-buffer.js: new DBusBuffer(buffer, startPos, endian, fds, opts) with read and readArray.
    const DBusBuffer = lib('dbus-buffer');
    expect(typeof DBusBuffer).toBe('function');
    expect(DBusBuffer.length).toBe(5);
    expect(typeof DBusBuffer.prototype.read).toBe('function');
    expect(typeof DBusBuffer.prototype.readArray).toBe('function');
    // lib/message.js: unmarshalMessages(stream, onMessage, opts), a property of the module's exports.
    expect(typeof lib('message').unmarshalMessages).toBe('function');
    expect(lib('message').unmarshalMessages.length).toBe(3);
    expect(hasMessageReader()).toBe(true);
    // lib/connection.js: the socket as `stream`, `state` 'connected' and 'connect' after the handshake, then the
    // reader looked up on lib/message.js (so a replaced one is used), and 'end' when the stream ends.
    const connection = libSource('connection');
    expect(connection).toContain("const message = require('./message');");
    expect(connection).toContain('const stream = (self.stream = createStream(opts));');
    expect(connection).toMatch(/self\.emit\('connect'\);\s+message\.unmarshalMessages\(\s+stream,/);
    expect(connection).toContain("self.state = 'connected';");
    expect(connection).toMatch(/stream\.on\('end', function \(\) \{\s+self\.emit\('end'\);/);
    expect(connection).toMatch(
      /stream\.on\('error', function \(err\) \{\s+\/\/[^\n]*\s+self\.emit\('error', err\);/,
    );
    // lib/bus.js: the MessageBus keeps its connection as `_connection`, forwards its errors, hands out serials.
    const bus = libSource('bus');
    expect(bus).toContain('this._connection = conn;');
    expect(bus).toMatch(/conn\.on\('error', \(err\) => \{\s+\/\/[^\n]*\s+this\.emit\('error', err\);/);
    expect(typeof lib('bus').prototype.newSerial).toBe('function');
  });
});

describe('the door', () => {
  const message = lib('message');
  const cases: Record<string, unknown>[] = [
    { type: 1, serial: 7, destination: 'org.bootc.Storage', path: '/org/bootc/Storage', member: 'Ping' },
    {
      type: 1,
      flags: 4,
      serial: 8,
      sender: ':1.42',
      path: '/org/bootc/Storage',
      interface: 'org.bootc.Storage',
      member: 'Remove',
      signature: 'as',
      body: [['quay.io/a:1', 'ünïcödé', '']],
    },
    {
      type: 4,
      serial: 9,
      path: '/org/bootc/Storage/job/3',
      interface: 'org.freedesktop.DBus.Properties',
      member: 'PropertiesChanged',
      signature: 'sa{sv}as',
      body: ['org.bootc.Storage.Job', { State: new dbus.Variant('s', 'done') }, []],
    },
    { type: 2, serial: 10, replySerial: 3, signature: 'a(sasstx)', body: [[['x', ['y'], 'z', 5n, -6n]]] },
  ];

  /** The message dbus-next's own reader (lib/message.js unmarshalMessages) makes of these bytes. */
  const dbusNextReads = (bytes: Buffer) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const stream = new PassThrough();
      message.unmarshalMessages(stream, resolve, {});
      stream.end(bytes);
    });

  it.each(cases.map((c) => [String(c.member ?? 'a reply'), c] as const))(
    'reads header fields and a body as dbus-next does (%s)',
    async (_, msg) => {
      const [bytes] = message.marshall({ ...msg }) as [Buffer];
      const fieldBytes = bytes.readUInt32LE(12);
      const bodyAt = 16 + (((fieldBytes + 7) >> 3) << 3);
      expect(bytes[0]).toBe(LITTLE_ENDIAN);
      const ours: Record<string, unknown> = {
        serial: bytes.readUInt32LE(8),
        type: bytes[1],
        flags: bytes[2],
      };
      const fields = readHeaderFields(bytes.subarray(16, bodyAt), bytes[0]!, fieldBytes, undefined, {});
      for (const [code, [, [value]]] of fields) ours[String(HEADER_FIELD_NAMES[code])] = value;
      if (bytes.length > bodyAt) {
        ours.body = readBody(bytes.subarray(bodyAt), bytes[0]!, String(ours.signature), undefined, {});
      }
      expect(ours).toEqual(await dbusNextReads(bytes));
    },
  );

  it("parses signatures with dbus-next's parser", () => {
    expect(parseSignature('(yv)')).toEqual(lib('signature').parseSignature('(yv)'));
    expect(() => parseSignature('a{sv')).toThrow();
  });

  describe('on a real dbus-next connection', () => {
    const cleanups: (() => void)[] = [];
    afterEach(() => {
      for (const c of cleanups.splice(0).reverse()) c();
    });

    it('finds its stream, replaces its reader, hears the handshake, its errors and its end', async () => {
      const tmp = makeTempDir('bsd-door-');
      cleanups.push(tmp.remove);
      // A bus that only does the SASL handshake: OK to the first AUTH, then keeps what the client sends.
      const path = join(tmp.path, 'bus');
      const server = net.createServer();
      cleanups.push(() => server.close());
      const accepted = new Promise<net.Socket>((resolve) =>
        server.on('connection', (socket) => {
          let text = '';
          const onData = (chunk: Buffer) => {
            text += chunk.toString('latin1');
            if (!text.includes('\r\n')) return;
            socket.off('data', onData);
            socket.write('OK 0123456789abcdef0123456789abcdef\r\n');
            resolve(socket);
          };
          socket.on('data', onData);
        }),
      );
      await new Promise<void>((resolve) => server.listen(path, resolve));

      const handed: MessageStream[] = [];
      replaceMessageReader(
        (original) =>
          function (this: unknown, stream, onMessage, opts) {
            handed.push(stream);
            return original.call(this, stream, onMessage, opts);
          },
      );
      const bus = dbus.sessionBus({ busAddress: `unix:path=${path}` });
      const errors: Error[] = [];
      bus.on('error', (err: Error) => errors.push(err));
      cleanups.push(() => bus.disconnect());
      const stream = connectionStream(bus);
      expect(stream).toBeInstanceOf(net.Socket);
      expect(isConnected(bus)).toBe(false);
      let connected = false;
      onceConnected(bus, () => {
        connected = true;
      });
      let ends = 0;
      onConnectionEnd(bus, () => {
        ends += 1;
      });

      const socket = await accepted;
      await waitFor(() => connected && handed.length === 1, 'the handshake and the reader', 5000, 5);
      expect(isConnected(bus)).toBe(true);
      expect(handed[0]).toBe(stream);

      // What the bus sends goes through the replaced reader (which hands on to dbus-next's) to the MessageBus.
      const got: dbus.Message[] = [];
      bus.on('message', (m: dbus.Message) => got.push(m));
      const signal = {
        type: 4,
        serial: 1,
        path: '/a',
        interface: 'a.B',
        member: 'C',
        signature: 's',
        body: ['hi'],
      };
      socket.write(lib('message').marshall(signal)[0]);
      await waitFor(() => got.length === 1, 'the signal', 5000, 5);
      expect([got[0]!.member, got[0]!.body]).toEqual(['C', ['hi']]);

      // What is written to the stream reaches the bus as is.
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      stream!.write(Buffer.from('raw bytes'));
      await waitFor(() => Buffer.concat(received).includes('raw bytes'), 'the written bytes', 5000, 5);

      emitConnectionError(bus, new Error('told by the test'));
      expect(errors.map((e) => e.message)).toContain('told by the test');

      socket.destroy();
      await waitFor(() => ends > 0, 'the end of the connection', 5000, 5);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ends).toBe(1); // 'end' and the stream's 'close' both came: told once
    });

    it('refuses to listen for the end of something that is no dbus-next connection', () => {
      expect(() => onConnectionEnd({} as dbus.MessageBus, () => undefined)).toThrow(/not a dbus-next/);
      expect(connectionStream({} as dbus.MessageBus)).toBeUndefined();
      expect(isConnected({} as dbus.MessageBus)).toBe(false);
    });
  });
});

describe('the one door', () => {
  it('imports nothing of src/ (the CLI may use it) and nothing but dbus-next', () => {
    const source = readFileSync(join(REPO, DOOR), 'utf8');
    const imports = [...source.matchAll(/^import\s[^;]*?from\s+'([^']+)';/gms)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const from of imports) expect(from).toMatch(/^dbus-next(\/lib\/[a-z-]+\.js)?$/);
  });

  it("is the only file under src/ that imports dbus-next's private modules or touches `_connection`", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(REPO, dir), { withFileTypes: true })) {
        const rel = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(rel);
        else if (/\.(ts|js|mjs|cjs)$/.test(entry.name) && rel !== DOOR) {
          const text = readFileSync(join(REPO, rel), 'utf8');
          if (/dbus-next\/lib\/|(?<!\w)_connection\b/.test(text)) offenders.push(rel);
        }
      }
    };
    walk('src');
    expect(offenders).toEqual([]);
  });
});
