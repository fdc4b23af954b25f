// The Varlink protocol module and client on their own (no daemon): certification against the reference
// implementation (varlink-go-certification, both directions), the standard errors, interfaces given as IDL text
// and as tables, pipelining, `more`, `oneway`, and the limits (message size, connections, unfinished messages,
// malformed input, stalled clients). Also the drift checks between varlink/org.bootc.Storage.varlink, the text
// the transport serves (rendered from the operations table) and the parameter checks made from the table.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WIRE_ERROR_NAMES } from '../../src/api/dbus/map-error.js';
import { STORAGE_METHODS } from '../../src/api/dbus/members.js';
import { VarlinkCallError, VarlinkClient } from '../../src/api/varlink/client.js';
import {
  parameterCheck,
  type VarlinkCall,
  VarlinkError,
  type VarlinkParams,
  VarlinkServer,
  type VarlinkTableInterface,
} from '../../src/api/varlink/protocol.js';
import { mapErrorToVarlink, VARLINK_INTERFACE } from '../../src/api/varlink/server.js';
import { SERVICE_DESCRIPTION, SERVICE_METHOD_INPUTS } from '../../src/api/varlink/service-interface.js';
import { paramSpecOf } from '../../src/api/varlink/storage-interface.js';
import { operationsOf } from '../../src/core/operations.js';
import { VARLINK_TYPES } from '../../src/core/wire-types.js';
import { createError, ERROR_NAMES } from '../../src/errors.js';
import {
  CERTIFICATION_IFACE,
  createCertificationServer,
  runCertificationClient,
} from '../fixtures/varlink-certification.js';
import { REPO } from '../helpers/system-bus.js';
import { makeTempDir } from '../helpers/tmp.js';
import { checkParameters, idlInterface, parseIdl, type VarlinkType } from '../helpers/varlink-idl.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const CERTIFY = 'varlink-go-certification';
const tmp = makeTempDir('bsd-varlink-');
afterAll(() => tmp.remove());

let n = 0;
const sockPath = () => join(tmp.path, `s${n++}.sock`);

/** A test interface next to the certification one: slow calls, errors, a declared-but-missing method. */
const TEST_IDL = `# Methods for protocol tests.
interface org.example.test

# Waits ms milliseconds, then echoes tag.
method Sleep(ms: int, tag: string) -> (tag: string)

# Streams count replies.
method Count(count: int) -> (i: int)

# Records a oneway call.
method Note(text: string) -> ()

# Declared, never implemented.
method Missing() -> ()

# Always refuses.
method Denied() -> ()

# Throws something that is not a VarlinkError.
method Crash() -> ()

# A nested type check.
method Typed(list: []int, opt: ?string, dict: [string]bool, kind: (a, b)) -> ()
`;
const notes: string[] = [];
const testInterface = idlInterface({
  description: TEST_IDL,
  methods: {
    Sleep: async (p: VarlinkParams) => {
      await new Promise((r) => setTimeout(r, p.ms as number));
      return { tag: p.tag };
    },
    Count: (p: VarlinkParams, call: VarlinkCall) => {
      for (let i = 0; i < (p.count as number) - 1; i++) call.notify({ i });
      return { i: (p.count as number) - 1 };
    },
    Note: (p: VarlinkParams) => {
      notes.push(p.text as string);
      return {};
    },
    Denied: () => {
      throw new VarlinkError('org.varlink.service.PermissionDenied');
    },
    Crash: () => {
      throw new Error('boom');
    },
    Typed: () => ({}),
  },
});

/** Checks of the same kinds, given as a table: nothing parsed, the description asked for only when wanted. */
const TABLE_IDL = `# Methods given as a table.
interface org.example.table

# One item.
type Item (n: int, tags: []string)

# A type check of each kind a table can spell.
method Typed(list: []int, opt: ?string, dict: [string]bool, item: Item, any: ?object) -> ()

# Streams count replies; must be called with "more".
method Count(count: int) -> (i: int)
`;
let described = 0;
const tableInterface: VarlinkTableInterface = {
  name: 'org.example.table',
  describe: () => {
    described += 1;
    return TABLE_IDL;
  },
  methods: {
    Typed: {
      check: parameterCheck(
        [
          { name: 'list', type: '[]int' },
          { name: 'opt', type: '?string' },
          { name: 'dict', type: '[string]bool' },
          { name: 'item', type: 'Item' },
          { name: 'any', type: '?object' },
        ],
        new Map([
          [
            'Item',
            [
              { name: 'n', type: 'int' },
              { name: 'tags', type: '[]string' },
            ],
          ],
        ]),
      ),
      run: () => ({}),
    },
    Count: { check: parameterCheck([{ name: 'count', type: 'int' }]), run: testInterface.methods.Count?.run },
  },
  requiresMore: ['Count'],
};

/** A parsed type as a table spells it. */
function spell(t: VarlinkType): string {
  switch (t.kind) {
    case 'maybe':
      return `?${spell(t.of)}`;
    case 'array':
      return `[]${spell(t.of)}`;
    case 'dict':
      return `[string]${spell(t.of)}`;
    case 'alias':
      return t.name;
    case 'struct':
    case 'enum':
      return `(an inline ${t.kind})`;
    default:
      return t.kind;
  }
}
const specsOf = (fields: Map<string, VarlinkType>) =>
  [...fields].map(([name, t]) => ({ name, type: spell(t) }));

const servers: VarlinkServer[] = [];
async function startServer(opts: Parameters<typeof createCertificationServer>[0] = {}) {
  const path = sockPath();
  const cert = createCertificationServer({ interfaces: [testInterface], ...opts });
  await new Promise<void>((r) => cert.server.server.listen(path, r));
  servers.push(cert.server);
  return { ...cert, path };
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A raw socket that collects every NUL-terminated message it receives. */
function rawConnect(path: string): Promise<{
  socket: Socket;
  messages: Record<string, unknown>[];
  closed: Promise<void>;
}> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const messages: Record<string, unknown>[] = [];
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf('\0');
      while (i !== -1) {
        messages.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
        i = buf.indexOf('\0');
      }
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, messages, closed }));
    socket.once('error', reject);
  });
}

async function errorOf(p: Promise<unknown>): Promise<{ error: string; parameters: VarlinkParams }> {
  return p.then(
    () => ({ error: 'no error', parameters: {} }),
    (e: unknown) => {
      if (e instanceof VarlinkCallError) return { error: e.error, parameters: e.parameters };
      throw e;
    },
  );
}

describe('certification against varlink-go-certification', () => {
  let goServer: ChildProcess | undefined;
  afterAll(() => goServer?.kill());

  it('certifies the protocol server: the reference client passes every test', async () => {
    const { path, results } = await startServer();
    const { stdout } = await run(CERTIFY, ['--client', '--varlink', `unix:${path}`], { timeout: 30_000 });
    expect(stdout).not.toMatch(/failed/i);
    expect(stdout).toMatch(/^Test10: '\[Reply number 1 .*Reply number 10\]'$/m);
    expect(stdout.trim().split('\n').at(-1)).toBe("End: 'true'");
    const [result] = [...results.values()];
    expect(result?.allOk).toBe(true);
    expect(result?.passed.size).toBe(11);
  });

  it('certifies the client: the reference server answers End with all_ok', async () => {
    const path = sockPath();
    goServer = spawn(CERTIFY, ['--varlink', `unix:${path}`], { stdio: 'ignore' });
    const client = await waitFor(() => VarlinkClient.connect(path), 'the reference server', 15_000);
    try {
      const { allOk, steps } = await runCertificationClient(client);
      expect(steps.map(([m]) => m)).toEqual([
        'Start',
        ...Array.from({ length: 11 }, (_, i) => `Test${String(i + 1).padStart(2, '0')}`),
        'End',
      ]);
      expect(allOk).toBe(true);
    } finally {
      client.close();
    }
  });

  it('our client passes our server too, and a wrong value is a CertificationError', async () => {
    const { path } = await startServer();
    const c = await VarlinkClient.connect(path);
    expect((await runCertificationClient(c)).allOk).toBe(true);
    const { client_id } = await c.call<{ client_id: string }>(`${CERTIFICATION_IFACE}.Start`);
    const e = await errorOf(c.call(`${CERTIFICATION_IFACE}.Test02`, { client_id, bool: false }));
    expect(e).toEqual({
      error: `${CERTIFICATION_IFACE}.CertificationError`,
      parameters: { wants: { bool: true }, got: { bool: false } },
    });
    expect((await errorOf(c.call(`${CERTIFICATION_IFACE}.Test01`, { client_id: 'x' }))).error).toBe(
      `${CERTIFICATION_IFACE}.ClientIdError`,
    );
    c.close();
  });
});

describe('org.varlink.service and the standard errors', () => {
  it('answers GetInfo and GetInterfaceDescription', async () => {
    const { path } = await startServer();
    const c = await VarlinkClient.connect(path);
    expect(await c.call('org.varlink.service.GetInfo')).toEqual({
      vendor: 'bootc-storaged tests',
      product: 'certification fixture',
      version: '1',
      url: '',
      interfaces: ['org.varlink.service', CERTIFICATION_IFACE, 'org.example.test'],
    });
    const d = await c.call<{ description: string }>('org.varlink.service.GetInterfaceDescription', {
      interface: 'org.example.test',
    });
    expect(d.description).toBe(TEST_IDL);
    const s = await c.call<{ description: string }>('org.varlink.service.GetInterfaceDescription', {
      interface: 'org.varlink.service',
    });
    expect(parseIdl(s.description).errors.has('ExpectedMore')).toBe(true);
    expect(
      await errorOf(c.call('org.varlink.service.GetInterfaceDescription', { interface: 'org.nope' })),
    ).toEqual({ error: 'org.varlink.service.InterfaceNotFound', parameters: { interface: 'org.nope' } });
    c.close();
  });

  it('names unknown interfaces and methods, unimplemented methods, and missing "more"', async () => {
    const { path } = await startServer();
    const c = await VarlinkClient.connect(path);
    const cases: [string, VarlinkParams, string, VarlinkParams][] = [
      ['org.nope.Thing.Do', {}, 'InterfaceNotFound', { interface: 'org.nope.Thing' }],
      ['org.example.test.Nope', {}, 'MethodNotFound', { method: 'org.example.test.Nope' }],
      ['org.varlink.service.Nope', {}, 'MethodNotFound', { method: 'org.varlink.service.Nope' }],
      ['org.example.test.Missing', {}, 'MethodNotImplemented', { method: 'org.example.test.Missing' }],
      ['org.example.test.Denied', {}, 'PermissionDenied', {}],
      [`${CERTIFICATION_IFACE}.Test10`, { client_id: 'x', mytype: {} }, 'ExpectedMore', {}],
      ['nodots', {}, 'InvalidParameter', { parameter: 'method' }],
      ['org.example.test.lowercase', {}, 'InvalidParameter', { parameter: 'method' }],
    ];
    for (const [method, params, error, parameters] of cases) {
      expect(await errorOf(c.call(method, params)), method).toEqual({
        error: `org.varlink.service.${error}`,
        parameters,
      });
    }
    c.close();
  });

  it('refuses wrongly typed, missing and unknown parameters with InvalidParameter naming them', async () => {
    const { path } = await startServer();
    const c = await VarlinkClient.connect(path);
    const good = { list: [1, 2], dict: { a: true }, kind: 'a' };
    expect(await c.call('org.example.test.Typed', good)).toEqual({});
    expect(await c.call('org.example.test.Typed', { ...good, opt: null })).toEqual({});
    const bad: [VarlinkParams, string][] = [
      [{ ...good, list: [1, 'two'] }, 'list'],
      [{ ...good, list: [1.5] }, 'list'],
      [{ ...good, list: 'x' }, 'list'],
      [{ ...good, opt: 3 }, 'opt'],
      [{ ...good, dict: { a: 1 } }, 'dict'],
      [{ ...good, dict: [] }, 'dict'],
      [{ ...good, kind: 'c' }, 'kind'],
      [{ dict: {}, kind: 'a' }, 'list'],
      [{ ...good, extra: 1 }, 'extra'],
    ];
    for (const [params, parameter] of bad) {
      expect(await errorOf(c.call('org.example.test.Typed', params)), JSON.stringify(params)).toEqual({
        error: 'org.varlink.service.InvalidParameter',
        parameters: { parameter },
      });
    }
    c.close();
  });

  it('a handler that throws something unexpected closes only its connection, and says nothing of it', async () => {
    const { path } = await startServer();
    const bad = await rawConnect(path);
    bad.socket.write('{"method":"org.example.test.Crash"}\0');
    await bad.closed;
    expect(bad.messages).toEqual([]);
    const c = await VarlinkClient.connect(path);
    expect(await c.call('org.example.test.Sleep', { ms: 0, tag: 'ok' })).toEqual({ tag: 'ok' });
    c.close();
  });
});

describe('interfaces given as a table', () => {
  it('lists it, describes it only when asked, checks "more" and every parameter as its text declares', async () => {
    described = 0;
    const { path } = await startServer({ interfaces: [testInterface, tableInterface] });
    const c = await VarlinkClient.connect(path);
    const info = await c.call<{ interfaces: string[] }>('org.varlink.service.GetInfo');
    expect(info.interfaces).toEqual([
      'org.varlink.service',
      CERTIFICATION_IFACE,
      'org.example.test',
      'org.example.table',
    ]);
    expect(described).toBe(0);
    const d = await c.call<{ description: string }>('org.varlink.service.GetInterfaceDescription', {
      interface: 'org.example.table',
    });
    expect(d.description).toBe(TABLE_IDL);
    expect(described).toBe(1);

    expect(await errorOf(c.call('org.example.table.Count', { count: 2 }))).toEqual({
      error: 'org.varlink.service.ExpectedMore',
      parameters: {},
    });
    const counted: unknown[] = [];
    for await (const r of c.stream('org.example.table.Count', { count: 3 })) counted.push(r.parameters);
    expect(counted).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(await errorOf(c.call('org.example.table.Nope', {}))).toEqual({
      error: 'org.varlink.service.MethodNotFound',
      parameters: { method: 'org.example.table.Nope' },
    });

    const good = { list: [1, 2], dict: { a: true }, item: { n: 1, tags: ['x'] } };
    const calls: [VarlinkParams, string | undefined][] = [
      [good, undefined],
      [{ ...good, opt: null, any: { deep: [1] } }, undefined],
      [{ ...good, opt: 'x', any: 0 }, undefined],
      [{ ...good, list: [1, 'two'] }, 'list'],
      [{ ...good, list: [1.5] }, 'list'],
      [{ ...good, list: 'x' }, 'list'],
      [{ ...good, opt: 3 }, 'opt'],
      [{ ...good, dict: { a: 1 } }, 'dict'],
      [{ ...good, dict: [] }, 'dict'],
      [{ ...good, item: { n: 1 } }, 'item'],
      [{ ...good, item: { n: 1, tags: [], more: 1 } }, 'item'],
      [{ ...good, item: null }, 'item'],
      [{ dict: {}, item: good.item }, 'list'],
      [{ ...good, extra: 1 }, 'extra'],
      [{ extra: 1 }, 'extra'],
    ];
    const idl = parseIdl(TABLE_IDL);
    for (const [params, parameter] of calls) {
      const what = JSON.stringify(params);
      expect(checkParameters(idl, idl.methods.get('Typed')!.in, params), what).toBe(parameter);
      const answer = c.call('org.example.table.Typed', params);
      if (parameter === undefined) expect(await answer, what).toEqual({});
      else
        expect(await errorOf(answer), what).toEqual({
          error: 'org.varlink.service.InvalidParameter',
          parameters: { parameter },
        });
    }
    c.close();
  });

  it('refuses, when the server is built, a table it cannot serve or check', () => {
    const serve = (iface: VarlinkTableInterface) => () =>
      new VarlinkServer({ vendor: 'v', product: 'p', version: '1', url: '', interfaces: [iface] });
    const { Typed } = tableInterface.methods;
    expect(serve({ ...tableInterface, name: 'nodots' })).toThrow(/bad interface name/);
    expect(serve({ ...tableInterface, name: 'org.varlink.service' })).toThrow(/registered twice/);
    expect(serve({ ...tableInterface, methods: { typed: Typed! } })).toThrow(/bad method name/);
    expect(serve({ ...tableInterface, requiresMore: ['Nope'] })).toThrow(/not declared/);
    expect(() => parameterCheck([{ name: 'kind', type: '(a, b)' }])).toThrow(/cannot be checked/);
    expect(() => parameterCheck([{ name: 'x', type: 'Nope' }])).toThrow(/cannot be checked/);
    expect(() => parameterCheck([{ name: 'x', type: '??int' }])).toThrow(/twice/);
    expect(() =>
      parameterCheck([
        { name: 'x', type: 'int' },
        { name: 'x', type: 'bool' },
      ]),
    ).toThrow(/twice/);
    const loop = new Map([['Loop', [{ name: 'next', type: '?Loop' }]]]);
    expect(() => parameterCheck([{ name: 'x', type: 'Loop' }], loop)).toThrow(/contains itself/);
  });
});

describe('message flow', () => {
  it('answers pipelined calls in order, streams "more" replies, skips "oneway" ones', async () => {
    const { path } = await startServer();
    const raw = await rawConnect(path);
    raw.socket.write(
      [
        { method: 'org.example.test.Sleep', parameters: { ms: 300, tag: 'first' } },
        { method: 'org.example.test.Note', parameters: { text: 'oneway' }, oneway: true },
        { method: 'org.example.test.Count', parameters: { count: 3 }, more: true },
        { method: 'org.example.test.Count', parameters: { count: 3 } },
        { method: 'org.example.test.Sleep', parameters: { ms: 0, tag: 'last' } },
      ]
        .map((m) => `${JSON.stringify(m)}\0`)
        .join(''),
    );
    await waitFor(() => raw.messages.length === 6, 'six replies');
    expect(raw.messages).toEqual([
      { parameters: { tag: 'first' } },
      { parameters: { i: 0 }, continues: true },
      { parameters: { i: 1 }, continues: true },
      { parameters: { i: 2 } },
      { parameters: { i: 2 } }, // without "more", only the final reply
      { parameters: { tag: 'last' } },
    ]);
    expect(notes).toContain('oneway');
    raw.socket.destroy();
  });

  it('a client that shuts down its writing side still gets its replies, then the server closes', async () => {
    const { path } = await startServer();
    const raw = await rawConnect(path);
    raw.socket.end('{"method":"org.example.test.Sleep","parameters":{"ms":100,"tag":"x"}}\0');
    await raw.closed;
    expect(raw.messages).toEqual([{ parameters: { tag: 'x' } }]);
  });

  it('accepts "parameters": null and an absent one as empty', async () => {
    const { path } = await startServer();
    const raw = await rawConnect(path);
    raw.socket.write('{"method":"org.varlink.service.GetInfo","parameters":null}\0');
    raw.socket.write('{"method":"org.varlink.service.GetInfo"}\0');
    await waitFor(() => raw.messages.length === 2, 'two replies');
    expect(raw.messages.every((m) => Array.isArray((m.parameters as VarlinkParams).interfaces))).toBe(true);
    raw.socket.destroy();
  });
});

describe('limits and bad clients', () => {
  it('answers malformed JSON with InvalidParameter and closes, after answering the calls before it', async () => {
    const { path } = await startServer();
    for (const junk of ['{"method":', '[1,2]', '"just a string"', '\u00ff\u00fe']) {
      const raw = await rawConnect(path);
      raw.socket.write(
        `{"method":"org.varlink.service.GetInfo"}\0${junk}\0{"method":"org.varlink.service.GetInfo"}\0`,
      );
      await raw.closed;
      expect(raw.messages).toHaveLength(2);
      expect(raw.messages[1]).toEqual({
        error: 'org.varlink.service.InvalidParameter',
        parameters: { parameter: 'message' },
      });
    }
    // A well-formed call object with bad fields gets InvalidParameter, and the connection stays usable.
    const raw = await rawConnect(path);
    raw.socket.write(
      '{"method":7}\0{"method":"org.varlink.service.GetInfo","parameters":[1]}\0' +
        '{"method":"org.varlink.service.GetInfo","more":true,"oneway":true}\0' +
        '{"method":"org.varlink.service.GetInfo","upgrade":true}\0{"method":"org.varlink.service.GetInfo"}\0',
    );
    // A oneway call is never answered, not even with an error: the one setting "more" too is dropped.
    await waitFor(() => raw.messages.length === 4, 'four replies');
    expect(raw.messages.slice(0, 3).map((m) => (m.parameters as VarlinkParams).parameter)).toEqual([
      'method',
      'parameters',
      'upgrade',
    ]);
    expect(raw.messages[3]?.error).toBeUndefined();
    raw.socket.destroy();
  });

  it('closes a connection whose message grows past the size limit without a NUL', async () => {
    const { path } = await startServer({ maxMessageBytes: 64 * 1024 });
    const raw = await rawConnect(path);
    raw.socket.write('{"method":"org.varlink.service.GetInfo"}\0');
    const blob = `{"method":"org.varlink.service.GetInfo","parameters":{"x":"${'a'.repeat(16 * 1024)}`;
    for (let i = 0; i < 8 && !raw.socket.destroyed; i++) raw.socket.write(blob);
    await raw.closed;
    expect(raw.messages).toHaveLength(2);
    expect(raw.messages[1]).toEqual({
      error: 'org.varlink.service.InvalidParameter',
      parameters: { parameter: 'message' },
    });
    // A message just under the limit is fine.
    const c = await VarlinkClient.connect(path);
    const text = 'b'.repeat(60 * 1024);
    expect(await c.call('org.example.test.Sleep', { ms: 0, tag: text })).toEqual({ tag: text });
    c.close();
  });

  it('closes a connection whose message stays unfinished past the timeout', async () => {
    const { path } = await startServer({ partialMessageTimeoutMs: 300 });
    const raw = await rawConnect(path);
    raw.socket.write('{"method":"org.varlink.service.Get');
    const t0 = Date.now();
    await raw.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(raw.messages).toEqual([
      { error: 'org.varlink.service.InvalidParameter', parameters: { parameter: 'message' } },
    ]);
  });

  it('refuses connections past the limit with the configured error, and takes new ones once some close', async () => {
    const { path } = await startServer({
      limits: { total: 3 },
      overLimitError: new VarlinkError('org.example.test.TooMany', { message: 'three at most' }),
    });
    const held = await Promise.all([1, 2, 3].map(() => VarlinkClient.connect(path)));
    for (const c of held) expect((await c.call('org.varlink.service.GetInfo')).product).toBeTruthy();
    const extra = await VarlinkClient.connect(path);
    expect(await errorOf(extra.call('org.varlink.service.GetInfo'))).toEqual({
      error: 'org.example.test.TooMany',
      parameters: { message: 'three at most' },
    });
    held[0]!.close();
    const next = await waitFor(async () => {
      const c = await VarlinkClient.connect(path);
      const r = await c.call('org.varlink.service.GetInfo').catch(() => undefined);
      if (r) return c;
      c.close();
      return undefined;
    }, 'a free slot');
    for (const c of [...held, extra, next!]) c.close();
  });

  it('a stalled client (half a message, or never reading its replies) does not block another', async () => {
    const { path } = await startServer();
    const half = await rawConnect(path);
    half.socket.write('{"method":"org.varlink.service.GetInfo","param');
    // A client that floods calls and never reads: the server stops reading it once it is behind.
    const flood = connect(path);
    flood.on('error', () => undefined);
    const call = `${JSON.stringify({ method: 'org.example.test.Count', parameters: { count: 2000 }, more: true })}\0`;
    await new Promise<void>((r) => flood.once('connect', () => r()));
    flood.pause();
    for (let i = 0; i < 200; i++) flood.write(call);
    const c = await VarlinkClient.connect(path);
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) await c.call('org.example.test.Sleep', { ms: 0, tag: String(i) });
    expect(Date.now() - t0).toBeLessThan(5000);
    c.close();
    half.socket.destroy();
    flood.destroy();
  });
});

describe('drift: the IDL file, the parameter checks and the code', () => {
  const file = readFileSync(join(REPO, 'varlink/org.bootc.Storage.varlink'), 'utf8');
  const idl = parseIdl(file);

  it("declares each method's parameters, and the struct types, as the table checks them", () => {
    for (const op of operationsOf('varlink'))
      expect(specsOf(idl.methods.get(op.name)!.in), op.name).toEqual(op.in.map(paramSpecOf));
    for (const t of VARLINK_TYPES) {
      const declared = idl.types.get(t.name);
      expect(declared?.kind === 'struct' ? specsOf(declared.fields) : [], t.name).toEqual(
        t.fields.map(paramSpecOf),
      );
    }
  });

  it("org.varlink.service's table declares the parameters its text does", () => {
    const service = parseIdl(SERVICE_DESCRIPTION);
    expect(Object.fromEntries([...service.methods].map(([m, d]) => [m, specsOf(d.in)]))).toEqual(
      SERVICE_METHOD_INPUTS,
    );
  });

  it('declares the D-Bus methods and the public error names, with a comment on every member and field', () => {
    expect(idl.name).toBe(VARLINK_INTERFACE);
    // The operations table's methods: every D-Bus method of org.bootc.Storage but Subscribe/Unsubscribe (D-Bus
    // keeps the daemon up for its signals; a Varlink Watch is a call in progress), plus GetJob (D-Bus has job
    // objects) and Watch (D-Bus has the StoreChanged and DeploymentsChanged signals).
    const dbusOnly = ['Subscribe', 'Unsubscribe'];
    expect([...idl.methods.keys()].sort()).toEqual(
      [...Object.keys(STORAGE_METHODS).filter((m) => !dbusOnly.includes(m)), 'GetJob', 'Watch'].sort(),
    );
    expect([...idl.methods.keys()]).toEqual(operationsOf('varlink').map((op) => op.name));
    expect([...idl.errors.keys()].sort()).toEqual([...WIRE_ERROR_NAMES].sort());
    const undocumented = [...idl.docs].filter(([, doc]) => doc.trim() === '').map(([k]) => k);
    expect(undocumented).toEqual([]);
    for (const m of idl.methods.keys()) expect(idl.docs.has(`method ${m}`)).toBe(true);
    const fields = [...idl.docs.keys()].filter((k) => k.startsWith('field '));
    expect(fields.length).toBeGreaterThan(25);
  });

  it('maps every catalogue error the way the D-Bus transport does', () => {
    for (const name of ERROR_NAMES) {
      const pulling = mapErrorToVarlink(createError(name, 'x'), true).error;
      const other = mapErrorToVarlink(createError(name, 'x'), false).error;
      if (name === 'AccessDenied' || name === 'InteractiveAuthorizationRequired') {
        expect(other).toBe('org.varlink.service.PermissionDenied');
      } else if (WIRE_ERROR_NAMES.includes(name)) {
        expect([pulling, other]).toEqual([`${VARLINK_INTERFACE}.${name}`, `${VARLINK_INTERFACE}.${name}`]);
      } else {
        expect([pulling, other]).toEqual([
          `${VARLINK_INTERFACE}.PullFailed`,
          `${VARLINK_INTERFACE}.StorageFailure`,
        ]);
      }
    }
    expect(mapErrorToVarlink(new Error('plain'), false).parameters).toEqual({ message: 'plain' });
  });
});
