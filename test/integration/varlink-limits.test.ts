// The Varlink protocol server against a neighbour who wants to deny it to everyone (issue 21, item 2): the
// connection shares per uid with root's own pool, idle connections closed, deep nesting refused before it is
// parsed, every call yielding to other connections, and a per-uid bound on buffered input. The peer's uid
// comes from a stand-in `identify` here; the daemon's real one (SO_PEERCRED) is in
// test/faults/varlink-neighbour.test.ts.

import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AdmissionLimits } from '../../src/api/varlink/admission.js';
import {
  type VarlinkCall,
  VarlinkError,
  type VarlinkParams,
  type VarlinkPeer,
  VarlinkServer,
} from '../../src/api/varlink/protocol.js';
import { makeTempDir } from '../helpers/tmp.js';
import { idlInterface } from '../helpers/varlink-idl.js';
import { waitFor } from '../helpers/wait-for.js';

const tmp = makeTempDir('bsd-varlink-limits-');
afterAll(() => tmp.remove());
let n = 0;

const IDL = `# Methods for the limits tests.
interface org.example.limits

# Keeps the event loop busy for ms milliseconds (a synchronous handler), then answers.
method Spin(ms: int, tag: string) -> (tag: string)

# Streams a reply every 50 ms until count replies were sent.
method Tick(count: int) -> (i: int)
`;

const servers: VarlinkServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/**
 * A server whose peers get the uid the client announces in its first byte sequence: the test connects with
 * `uidOf` telling which uid the next accepted connection has (identify runs synchronously at accept).
 */
async function startServer(opts: { limits?: Partial<AdmissionLimits>; idleTimeoutMs?: number } = {}) {
  const path = join(tmp.path, `l${n++}.sock`);
  const uids: number[] = [];
  const released: number[] = [];
  const server = new VarlinkServer({
    vendor: 'test',
    product: 'limits',
    version: '1',
    url: '',
    interfaces: [
      idlInterface({
        description: IDL,
        methods: {
          Spin: (p: VarlinkParams) => {
            const until = Date.now() + (p.ms as number);
            while (Date.now() < until); // deliberately synchronous
            return { tag: p.tag };
          },
          Tick: async (p: VarlinkParams, call: VarlinkCall) => {
            for (let i = 0; i < (p.count as number) - 1; i++) {
              call.notify({ i });
              await new Promise((r) => setTimeout(r, 50));
            }
            return { i: (p.count as number) - 1 };
          },
        },
        requiresMore: ['Tick'],
      }),
    ],
    overLimitError: new VarlinkError('org.example.limits.Busy', { message: 'too many' }),
    identify: (): VarlinkPeer => {
      const uid = uids.shift() ?? 1000;
      return { uid, release: () => released.push(uid) };
    },
    ...opts,
  });
  await new Promise<void>((r) => server.server.listen(path, r));
  servers.push(server);
  /** Connects as `uid`, collecting every message it receives. */
  const as = async (uid: number) => {
    uids.push(uid);
    const socket = connect(path);
    const messages: Record<string, unknown>[] = [];
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\0'); i !== -1; i = buf.indexOf('\0')) {
        messages.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
      }
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    return { socket, messages, closed };
  };
  return { server, as, released };
}

const send = (s: Socket, method: string, parameters: VarlinkParams = {}, more = false) =>
  s.write(`${JSON.stringify({ method, parameters, ...(more ? { more } : {}) })}\0`);

describe('connections per uid', () => {
  it('one uid gets only its share; another uid and root still get in', async () => {
    const { server, as } = await startServer({ limits: { total: 6, perUid: 3 } });
    const nobody = await Promise.all([1, 2, 3, 4, 5].map(() => as(65534)));
    await waitFor(() => server.connections === 3, 'three of nobody admitted');
    // The two past nobody's share got the over-limit error and were closed, unasked.
    await Promise.all(nobody.slice(3).map((c) => c.closed));
    for (const c of nobody.slice(3))
      expect(c.messages).toEqual([{ error: 'org.example.limits.Busy', parameters: { message: 'too many' } }]);
    const other = await as(1000);
    send(other.socket, 'org.varlink.service.GetInfo');
    await waitFor(() => other.messages.length === 1, "another user's answer");
    expect(other.messages[0]?.error).toBeUndefined();
    expect(server.admission.held(65534)).toMatchObject({ uid: 3, nonRoot: 4 });
    for (const c of nobody) c.socket.destroy();
    other.socket.destroy();
  });

  it('root has a pool of its own: however many connections others hold, root is answered', async () => {
    const { server, as } = await startServer({ limits: { total: 4, perUid: 2 } });
    const others = await Promise.all([1001, 1001, 1002, 1002].map((u) => as(u)));
    await waitFor(() => server.connections === 4, 'others at the total');
    const late = await as(1003);
    await late.closed; // the non-root total is full
    expect(late.messages[0]?.error).toBe('org.example.limits.Busy');
    const roots = await Promise.all([0, 0, 0, 0].map((u) => as(u)));
    for (const r of roots) send(r.socket, 'org.varlink.service.GetInfo');
    await waitFor(() => roots.every((r) => r.messages.length === 1), "root's answers");
    for (const r of roots) expect(r.messages[0]?.error).toBeUndefined();
    for (const c of [...others, ...roots]) c.socket.destroy();
  });
});

describe('idle connections', () => {
  it('closes a connection with nothing to do, and releases its share and its peer', async () => {
    const { server, as, released } = await startServer({ idleTimeoutMs: 200 });
    const idle = await as(65534);
    send(idle.socket, 'org.varlink.service.GetInfo');
    const t0 = Date.now();
    await idle.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(idle.messages).toHaveLength(1); // its call was answered first
    await waitFor(() => server.connections === 0, 'the share released');
    expect(released).toEqual([65534]);
  });

  it('never closes a connection while its call streams, however long', async () => {
    const { as } = await startServer({ idleTimeoutMs: 100 });
    const busy = await as(65534);
    send(busy.socket, 'org.example.limits.Tick', { count: 8 }, true); // ~350 ms
    await waitFor(() => busy.messages.length === 8, 'every streamed reply');
    expect(busy.messages.at(-1)).toEqual({ parameters: { i: 7 } });
    await busy.closed; // and idle after it
  });
});

describe('hostile messages', () => {
  it('refuses a deeply nested message before parsing it, and closes the connection', async () => {
    const { as } = await startServer();
    const c = await as(65534);
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    c.socket.write(`{"method":"org.varlink.service.GetInfo","parameters":{"x":${deep}}}\0`);
    await c.closed;
    expect(c.messages).toEqual([
      { error: 'org.varlink.service.InvalidParameter', parameters: { parameter: 'message' } },
    ]);
    // Brackets inside strings are text, not nesting: such a call is parsed and answered as usual.
    const ok = await as(65534);
    send(ok.socket, 'org.example.limits.Spin', { ms: 0, tag: '['.repeat(200) });
    await waitFor(() => ok.messages.length === 1, 'the answer');
    expect(ok.messages[0]).toEqual({ parameters: { tag: '['.repeat(200) } });
    ok.socket.destroy();
  });

  it("yields after every call: a burst on one connection never holds another's call back", async () => {
    const { as } = await startServer();
    const burst = await as(65534);
    const other = await as(1000);
    const order: string[] = [];
    burst.socket.on('data', () => order.push('burst'));
    other.socket.on('data', () => order.push('other'));
    // 20 pipelined calls of 10 ms each in one write, and one call from the other connection at once.
    burst.socket.write(
      Array.from(
        { length: 20 },
        (_, i) =>
          `${JSON.stringify({ method: 'org.example.limits.Spin', parameters: { ms: 10, tag: `${i}` } })}\0`,
      ).join(''),
    );
    send(other.socket, 'org.example.limits.Spin', { ms: 0, tag: 'other' });
    await waitFor(() => burst.messages.length === 20 && other.messages.length === 1, 'all answers');
    // The other connection's answer came before most of the burst's (with 32 calls per turn it came last).
    expect(order.indexOf('other')).toBeLessThan(5);
    burst.socket.destroy();
    other.socket.destroy();
  });

  it("bounds one uid's buffered input across its connections; another uid is unaffected", async () => {
    const { server, as } = await startServer({ limits: { bufferedPerUid: 1024 * 1024 } });
    const half = `{"method":"org.varlink.service.GetInfo","parameters":{"x":"${'a'.repeat(600 * 1024)}`;
    const first = await as(65534);
    first.socket.write(half); // 600 KiB unfinished: within nobody's 1 MiB
    await waitFor(() => server.admission.buffered(65534) === half.length, 'the first half buffered');
    const second = await as(65534);
    second.socket.write(half); // 1.2 MiB in all: past it
    await second.closed;
    expect(second.messages).toEqual([
      { error: 'org.varlink.service.InvalidParameter', parameters: { parameter: 'message' } },
    ]);
    expect(first.socket.destroyed).toBe(false);
    const other = await as(1000);
    other.socket.write(half);
    other.socket.write('"}}\0');
    await waitFor(() => other.messages.length === 1, "the other user's answer");
    expect(other.messages[0]).toEqual({
      error: 'org.varlink.service.InvalidParameter',
      parameters: { parameter: 'x' },
    });
    for (const c of [first, other]) c.socket.destroy();
  });
});
