// Huge messages, which any local user may send (the system bus lets 32 MiB through): a 16 MB Remove(as) of
// 2,000,000 strings, several at once from several connections, a list of empty strings under the byte limit,
// and a 16 MB signal sent straight to the daemon. Each is refused (or dropped) before its body is unmarshalled:
// a named error at once, and a second process calling Exists every 10 ms is not held up by the daemon. A
// legitimate Remove of 4096 long references still reaches the parser. Each window prints Exists p50/p99/max
// (over D-Bus, over Varlink, and the bus's own GetId) and the CPU dbus-daemon and the daemon spent. In process:
// the limited reader hands on what dbus-next's does, and reads a refused body mostly straight from the socket.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DiscardedBody,
  limitIncomingMessages,
  type RefusedMessage,
} from '../../src/api/dbus/message-limit.js';
import { callStorage, errorName } from '../helpers/daemon.js';
import {
  connected,
  dbusNextMessage,
  METHOD_CALL,
  now,
  rawMessage,
  SIGNAL,
  sendRaw,
  storageCall,
  stringListBody,
} from '../helpers/huge-message.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { REPO } from '../helpers/system-bus.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

const INVALID_ARGUMENT = 'org.bootc.Storage.Error.InvalidArgument';
/** The limiter's message; zod's ("Too big: …") is what the daemon answered before it existed. */
const SIZE_REFUSAL = /^the call's arguments are \d+ bytes; at most \d+ are accepted$/;
const COUNT_REFUSAL = /^the call's list holds more than \d+ entries; at most \d+ are accepted$/;
/** No Exists the daemon answers may take longer than this while a flood is being refused. */
const EXISTS_BUDGET_MS = 50;

const { marshall } = dbusNextMessage;
const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
/** CPU time (user + system) a process has used, in ms. */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};

// The second process: its own bus connection, Exists every 10 ms, one JSON line [kind, start, latency, ok] per
// call. Beside it, two controls on their own 10 ms loops: Exists over the daemon's Varlink socket (the
// daemon's event loop, no bus involved) and GetId answered by dbus-daemon itself (the bus, no daemon).
const PROBER = `
const net = require('node:net');
const dbus = require('dbus-next');
const bus = dbus.sessionBus({ busAddress: process.env.PROBE_BUS });
const now = () => performance.timeOrigin + performance.now();
const call = (destination, path, iface, member, signature, body) =>
  bus.call(new dbus.Message({ destination, path, interface: iface, member, signature, body }));
const exists = () =>
  call('org.bootc.Storage', '/org/bootc/Storage', 'org.bootc.Storage', 'Exists', 's', [process.env.PROBE_REF]);
const getId = () => call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId');
const sock = net.connect(process.env.PROBE_VARLINK);
let answer = () => {};
let buffered = '';
sock.on('data', (d) => {
  buffered += d.toString();
  const at = buffered.indexOf('\\0');
  if (at >= 0) { const reply = JSON.parse(buffered.slice(0, at)); buffered = buffered.slice(at + 1); answer(reply); }
});
const varlinkExists = () => new Promise((resolve, reject) => {
  answer = (r) => (r.error ? reject(new Error(r.error)) : resolve(r));
  sock.write(JSON.stringify({ method: 'org.bootc.Storage.Exists', parameters: { image: process.env.PROBE_REF } }) + '\\0');
});
async function loop(kind, probe) {
  for (let i = 0; i < 20; i++) await probe();
  process.stdout.write('ready ' + kind + '\\n');
  for (;;) {
    const t0 = now();
    let ok = true;
    try { await probe(); } catch { ok = false; }
    const ms = now() - t0;
    process.stdout.write(JSON.stringify([kind, t0, ms, ok]) + '\\n');
    await new Promise((r) => setTimeout(r, Math.max(0, 10 - ms)));
  }
}
Promise.all([loop('dbus', exists), loop('varlink', varlinkExists), loop('bus', getId)])
  .catch((e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
`;

type ProbeKind = 'dbus' | 'varlink' | 'bus';
interface Probe {
  kind: ProbeKind;
  start: number;
  ms: number;
  ok: boolean;
}

interface Prober {
  proc: ChildProcess;
  probes: Probe[];
  stop(): void;
}

async function startProber(address: string, varlink: string, ref: string): Promise<Prober> {
  const proc = spawn(process.execPath, ['-e', PROBER], {
    cwd: REPO,
    env: { ...process.env, PROBE_BUS: address, PROBE_VARLINK: varlink, PROBE_REF: ref },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const probes: Probe[] = [];
  let ready = 0;
  let rest = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('ready ')) ready += 1;
      else if (line) {
        const [kind, start, ms, ok] = JSON.parse(line) as [ProbeKind, number, number, boolean];
        probes.push({ kind, start, ms, ok });
      }
    }
  });
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`the prober exited ${proc.exitCode}`);
    return ready === 3 && probes.length >= 60;
  }, 'the Exists prober');
  return { proc, probes, stop: () => proc.kill('SIGKILL') };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

interface Latencies {
  n: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
}

let cpuMark: { bus: number; daemon: number } | undefined;
/** Starts a measured window: CPU used by dbus-daemon and the daemon is reported from here. */
function markCpu() {
  cpuMark = { bus: cpuMs(busPid), daemon: cpuMs(s.daemon.proc.pid!) };
}

/** The probes that overlapped [from, to], per kind, with p50/p99/max (printed, for the README). */
function window(from: number, to: number, label: string): Record<ProbeKind, Latencies> {
  const f = (x: number) => x.toFixed(1);
  const out = {} as Record<ProbeKind, Latencies>;
  const parts: string[] = [];
  for (const kind of ['dbus', 'varlink', 'bus'] as const) {
    const hit = prober.probes.filter((p) => p.kind === kind && p.start < to && p.start + p.ms > from);
    const ms = hit.map((p) => p.ms).sort((a, b) => a - b);
    const st = { n: ms.length, p50: pct(ms, 50), p99: pct(ms, 99), max: ms.at(-1) ?? Number.NaN };
    out[kind] = { ...st, failed: hit.filter((p) => !p.ok).length };
    parts.push(`${kind} (n=${st.n}) p50 ${f(st.p50)} / p99 ${f(st.p99)} / max ${f(st.max)} ms`);
  }
  const cpu = cpuMark
    ? `; CPU dbus-daemon ${cpuMs(busPid) - cpuMark.bus} ms, daemon ${cpuMs(s.daemon.proc.pid!) - cpuMark.daemon} ms`
    : '';
  console.log(
    `${label}: Exists over D-Bus ${parts[0]}; over Varlink ${parts[1]}; bus GetId ${parts[2]}${cpu}`,
  );
  return out;
}

/**
 * Nothing failed, and the daemon kept answering: every Exists over Varlink (the daemon's own event loop, no
 * bus in the way) took under EXISTS_BUDGET_MS. Over D-Bus an Exists also waits for dbus-daemon, which
 * validates a 16 MB body in one go (its own GetId stalls ~40 ms here) and delivers the call to the daemon only
 * after the 16 MB queued ahead of it: `dbusBudgetMs` bounds that (the unfixed daemon: 0.7-1.1 s for one).
 */
function expectResponsive(w: Record<ProbeKind, Latencies>, dbusBudgetMs: number) {
  for (const l of Object.values(w)) {
    expect(l.failed).toBe(0);
    expect(l.n).toBeGreaterThanOrEqual(5);
  }
  expect(w.varlink.max).toBeLessThan(EXISTS_BUDGET_MS);
  expect(w.dbus.max).toBeLessThan(dbusBudgetMs);
}

/** Waits `ms` after the last refusal, so a stall that follows it is inside the measured window too. */
const TAIL_MS = 300;
const settle = () => new Promise((r) => setTimeout(r, TAIL_MS));

let s: Stack;
let prober: Prober;
let busPid: number;

describe('huge messages are refused before they are unmarshalled', () => {
  beforeAll(async () => {
    s = await startStack();
    busPid = Number(
      execFileSync('pgrep', ['-f', s.bus.socket.replace('system_bus_socket', 'bus.conf')])
        .toString()
        .trim(),
    );
    prober = await startProber(
      s.bus.address,
      join(s.sandbox.run, 'bootc', 'org.bootc.Storage'),
      `${s.registry.host}/probe/absent:v1`,
    );
    const idle = window(0, now(), 'baseline (no flood)');
    expect(idle.dbus.failed + idle.varlink.failed + idle.bus.failed).toBe(0);
  });
  afterAll(async () => {
    prober?.stop();
    await s?.stop();
  });

  it('answers a 16 MB Remove(as) of 2,000,000 strings with InvalidArgument at once; Exists is not held up', async () => {
    const client = await connected(s.bus.address);
    const body = stringListBody(2_000_000, 'abc');
    expect(body.length).toBe(16_000_004);
    markCpu();
    const from = now();
    const reply = await sendRaw(client, 'Remove', body);
    await settle();
    const w = window(from, now(), '16 MB Remove(as), 2,000,000 strings');
    console.log(`16 MB Remove(as): ${reply.name} after ${reply.ms.toFixed(1)} ms: ${reply.text}`);
    client.disconnect();
    expect(reply.name).toBe(INVALID_ARGUMENT);
    expect(reply.text).toMatch(SIZE_REFUSAL);
    expect(reply.ms).toBeLessThan(300);
    expectResponsive(w, 250);
    // Still serving, and the refusal was logged with the sender and the size, never the content.
    expect(await callStorage(s.client, 'Exists', 's', [`${s.registry.host}/probe/absent:v1`])).toEqual([
      false,
    ]);
    expect(s.daemon.proc.exitCode).toBe(null);
    const logged = s.daemon
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"refused an oversized message"'));
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged[0]).toContain(`"sender":"${(client as unknown as { name: string }).name}"`);
    expect(logged[0]).toContain('"bodyBytes":16000004');
    expect(logged[0]).not.toContain('abc');
  });

  it('refuses 8 huge calls from 4 connections at once, with bounded memory, and keeps answering', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connected(s.bus.address)));
    const body = stringListBody(2_000_000, 'abc');
    const rssBefore = rssKiB(s.daemon.proc.pid!);
    markCpu();
    const from = now();
    const replies = await Promise.all(
      clients.flatMap((c) => [sendRaw(c, 'Remove', body), sendRaw(c, 'Prune', body)]),
    );
    const rssAfter = rssKiB(s.daemon.proc.pid!);
    await settle();
    const w = window(from, now(), '8 × 16 MB from 4 connections');
    const slowest = Math.max(...replies.map((r) => r.ms));
    console.log(
      `8 × 16 MB: all answered within ${slowest.toFixed(1)} ms; RSS ${rssBefore} → ${rssAfter} KiB`,
    );
    for (const c of clients) c.disconnect();
    for (const r of replies) {
      expect(r.name).toBe(INVALID_ARGUMENT);
      expect(r.text).toMatch(SIZE_REFUSAL);
    }
    expectResponsive(w, 1000);
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024); // 128 MB went by; none of it was kept
    expect(await callStorage(s.client, 'ListJobs')).toEqual([[]]);
  });

  it('refuses a list of 780,000 empty strings, under the byte limit, by its length without unmarshalling', async () => {
    const client = await connected(s.bus.address);
    const body = stringListBody(780_000, '');
    expect(body.length).toBeLessThan(6 * 1024 * 1024);
    markCpu();
    const from = now();
    const reply = await sendRaw(client, 'Prune', body);
    await settle();
    const w = window(from, now(), '6 MB Prune(as), 780,000 empty strings');
    console.log(`780,000 empty strings: ${reply.name} after ${reply.ms.toFixed(1)} ms: ${reply.text}`);
    client.disconnect();
    expect(reply.name).toBe(INVALID_ARGUMENT);
    expect(reply.text).toMatch(COUNT_REFUSAL);
    expectResponsive(w, 100);
  });

  it('drops a 16 MB signal sent straight to the daemon without unmarshalling it', async () => {
    const client = await connected(s.bus.address);
    const serial = client.newSerial();
    const signal = rawMessage(
      serial,
      {
        type: SIGNAL,
        destination: 'org.bootc.Storage',
        path: '/',
        interface: 'org.bootc.Storage',
        member: 'X',
      },
      stringListBody(2_000_000, 'abc'),
    );
    const stream = (client as unknown as { _connection: { stream: NodeJS.WritableStream } })._connection
      .stream;
    const refusals = () => s.daemon.output().split('"msg":"refused an oversized message"').length;
    const before = refusals();
    markCpu();
    const from = now();
    stream.write(signal);
    // The daemon logs the drop; the unfixed daemon logs nothing, so give it the time it took then (~1 s).
    await waitFor(() => refusals() > before, 'the dropped signal to be logged', 1500, 10).catch(
      () => undefined,
    );
    await settle();
    const w = window(from, now(), '16 MB signal to the daemon');
    client.disconnect();
    expect(refusals()).toBe(before + 1);
    expectResponsive(w, 250);
  });

  it('lets a legitimate Remove of 4096 long references through to the parser and the store', async () => {
    const host = s.registry.host;
    // The longest valid references: a 255-character repository, a 128-character tag and a sha512 digest.
    const refs = Array.from({ length: 4096 }, (_, i) => {
      const repo = `${host}/legit/${String(i).padStart(4, '0')}`;
      return `${repo.padEnd(255, 'x')}:${'t'.repeat(128)}@sha512:${'f'.repeat(128)}`;
    });
    expect(refs[0]!.length).toBe(520);
    const client = await connected(s.bus.address);
    const t0 = now();
    const name = await errorName(callStorage(client, 'Remove', 'as', [refs]));
    console.log(`Remove of 4096 × 520-character references: ${name} after ${(now() - t0).toFixed(1)} ms`);
    expect(name).toBe('org.bootc.Storage.Error.NotFound');
    // 4096 strings at the parser's own cap (1024 characters) are still the parser's to reject.
    const long = Array.from(
      { length: 4096 },
      (_, i) => `${host}/${String(i).padStart(1023 - host.length, 'a')}`,
    );
    expect(long[0]!.length).toBe(1024);
    expect(await errorName(callStorage(client, 'Remove', 'as', [long]))).toBe(
      'org.bootc.Storage.Error.InvalidReference',
    );
    client.disconnect();
  });
});

describe('the limited reader, in process', () => {
  /** Feeds `bytes` in `chunk`-sized writes and collects what the reader hands on, once all has arrived. */
  async function readAll(stream: PassThrough, bytes: Buffer, chunk: number, got: () => number, want: number) {
    for (let at = 0; at < bytes.length; at += chunk) {
      stream.write(bytes.subarray(at, at + chunk));
      if (at % (chunk * 64) === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => got() >= want, 'every message to be read', 5000, 5);
  }

  it("hands on exactly what dbus-next's own reader does, however the bytes are split, less what is over a limit", async () => {
    const limits = { maxBodyBytes: 2000, maxBodyBytesBySignature: { as: 20_000 }, maxListItems: 100 };
    const variety = (i: number): Record<string, unknown> => {
      const sender = `:1.${i}`;
      const call = { type: METHOD_CALL, serial: i + 1, sender, path: '/org/bootc/Storage', member: 'M' };
      switch (i % 9) {
        case 0:
          return { ...call, interface: 'org.bootc.Storage', signature: 's', body: ['x'.repeat(i * 7)] };
        case 1:
          return { ...call, signature: 'as', body: [Array.from({ length: i % 130 }, (_, k) => `r${k}`)] };
        case 2:
          return { ...call, signature: 'as', body: [Array.from({ length: 50 }, () => 'y'.repeat(i * 2))] };
        case 3:
          return {
            ...call,
            signature: 'a{sv}',
            body: [
              [
                ['a', ['u', i]],
                ['b', ['s', 'z']],
              ],
            ], // dbus-next's marshaller format: a variant is [signature, value]
          };
        case 4: // replies are never limited, whatever their size
          return {
            type: 2,
            serial: i + 1,
            replySerial: i,
            sender,
            signature: 's',
            body: ['r'.repeat(i * 40)],
          };
        case 5:
          return {
            type: 3,
            serial: i + 1,
            replySerial: i,
            sender,
            errorName: 'a.B',
            signature: 's',
            body: ['e'],
          };
        case 6: // signals are limited like calls
          return {
            type: SIGNAL,
            serial: i + 1,
            sender,
            path: '/',
            interface: 'a.B',
            member: 'S',
            signature: 'ay',
            body: [Buffer.alloc(i * 9)],
          };
        case 7:
          return { ...call, flags: 1, signature: '(ius)', body: [[-i, i, 'q'.repeat(i * 5)]] };
        default:
          return { ...call, signature: '' };
      }
    };
    const messages = Array.from({ length: 400 }, (_, i) => variety(i));
    const bytes = Buffer.concat(messages.map((m) => marshall(m)[0]));
    for (const chunk of [1, 3, 16, 1000, 65536, bytes.length]) {
      const plain = new PassThrough();
      const expected: Record<string, unknown>[] = [];
      dbusNextMessage.unmarshalMessages(plain, (m) => expected.push(m), {});
      const limitedStream = new PassThrough();
      const sent: dbus.Message[] = [];
      const refused: RefusedMessage[] = [];
      const fakeBus = {
        _connection: { stream: limitedStream, once: () => undefined, emit: () => true },
        send: (m: dbus.Message) => sent.push(m),
      } as unknown as dbus.MessageBus;
      limitIncomingMessages(fakeBus, { ...limits, onRefused: (r) => refused.push(r) });
      const actual: Record<string, unknown>[] = [];
      dbusNextMessage.unmarshalMessages(limitedStream, (m) => actual.push(m), {});
      await readAll(plain, bytes, chunk, () => expected.length, messages.length);
      await readAll(limitedStream, bytes, chunk, () => actual.length + refused.length, messages.length);
      expect(actual.length + refused.length).toBe(messages.length);
      expect(refused.length).toBeGreaterThan(40);
      const bySerial = new Map(actual.map((m) => [m.serial, m]));
      const replies = new Map(sent.map((m) => [Number(m.replySerial), m]));
      for (const [i, m] of expected.entries()) {
        const got = bySerial.get(m.serial);
        if (got) {
          expect(got).toEqual(m);
          continue;
        }
        // Refused: a call or signal over its limit, never a reply; a call that wants one gets InvalidArgument.
        const original = messages[i]!;
        expect([METHOD_CALL, SIGNAL]).toContain(m.type);
        const reply = replies.get(m.serial as number);
        if (m.type === METHOD_CALL && !(Number(original.flags ?? 0) & 1)) {
          expect(reply?.errorName).toBe(INVALID_ARGUMENT);
          expect(reply?.destination).toBe(m.sender);
        } else expect(reply).toBeUndefined();
      }
    }
  });

  // Speed is the benchmark's (bench/huge-message.ts: the daemon's share of the stall, against the bus's own
  // GetId); this is what makes it fast. Through the stream a 16 MB body is ~250 reads of 64 KiB, each into a new
  // buffer and each its own turn of the event loop; the reader takes what the stream already holds and reads
  // the rest straight from the socket into one reused buffer, a whole socketful at a time.
  it('reads a refused 16 MB body mostly straight from the socket, a socketful per read, and the next message intact', async () => {
    const tmp = makeTempDir('bsd-limit-');
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(join(tmp.path, 'sock'), r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect(join(tmp.path, 'sock'));
    const stream = await accepted;
    const refused: RefusedMessage[] = [];
    const discarded: DiscardedBody[] = [];
    const sent: dbus.Message[] = [];
    const fakeBus = {
      _connection: { stream, once: () => undefined, emit: () => true },
      send: (m: dbus.Message) => sent.push(m),
    } as unknown as dbus.MessageBus;
    limitIncomingMessages(fakeBus, {
      maxBodyBytes: 2000,
      maxBodyBytesBySignature: { as: 20_000 },
      onRefused: (m) => refused.push(m),
      onDiscarded: (d) => discarded.push(d),
    });
    const got: Record<string, unknown>[] = [];
    dbusNextMessage.unmarshalMessages(stream, (m) => got.push(m), {});
    try {
      const call = (serial: number, member: string, body: Buffer) =>
        rawMessage(serial, { ...storageCall(member), sender: ':1.7' }, body);
      const huge = stringListBody(2_000_000, 'abc');
      const small = (i: number) =>
        marshall({ ...storageCall('Exists'), serial: i, signature: 's', body: [`r${i}`] })[0];
      // Two refused bodies back to back, each followed by a call that must arrive whole.
      client.write(
        Buffer.concat([small(1), call(2, 'Remove', huge), small(3), call(4, 'Prune', huge), small(5)]),
      );
      await waitFor(
        () => got.length === 3 && discarded.length === 2,
        'the calls after the refused bodies',
        20_000,
        5,
      );
      expect(got.map((m) => [m.serial, m.member, m.body])).toEqual([
        [1, 'Exists', ['r1']],
        [3, 'Exists', ['r3']],
        [5, 'Exists', ['r5']],
      ]);
      expect(refused.map((r) => [r.member, r.bodyBytes])).toEqual([
        ['Remove', huge.length],
        ['Prune', huge.length],
      ]);
      expect(sent.map((m) => [m.replySerial, m.errorName])).toEqual([
        [2, INVALID_ARGUMENT],
        [4, INVALID_ARGUMENT],
      ]);
      for (const d of discarded) {
        console.log(
          `refused body: ${d.fromSocket} bytes in ${d.socketReads} reads from the socket, ${d.fromStream} through the stream`,
        );
        expect(d.bodyBytes).toBe(huge.length);
        expect(d.fromStream + d.fromSocket).toBe(d.bodyBytes);
        // Each time the socket turns readable the stream reads its own 64 KiB first; the socket holds ~210 KiB
        // (the writer's default send buffer), so most of the body never goes through the stream.
        expect(d.fromSocket).toBeGreaterThan(d.bodyBytes / 2);
        // More per read than the stream's 64 KiB: one reused buffer, a socketful at a time.
        expect(d.fromSocket / d.socketReads).toBeGreaterThan(64 * 1024);
      }
    } finally {
      client.destroy();
      stream.destroy();
      server.close();
      tmp.remove();
    }
  });
});
