// Shared by bench/reads.ts (not a benchmark of its own): interleaved rounds of Ping/Exists/List from one warm
// client, and where a List call's time goes: the daemon's per-stage timing (src/api/dbus/call-trace.ts, on
// with BOOTC_STORAGED_TRACE_CALLS=1), authorization for new callers, and marshalling measured here with
// dbus-next's code and the daemon's (src/api/dbus/marshal.ts), 64-bit fields apart.

import dbus from 'dbus-next';
// @ts-expect-error dbus-next ships no types for its internals (pinned to 0.10.2)
import compat from 'dbus-next/lib/marshall-compat.js';
// @ts-expect-error as above
import messageModule from 'dbus-next/lib/message.js';
import { marshalBody } from '../src/api/dbus/marshal.js';
import { methodReturnBytes, methodReturnHeader } from '../src/api/dbus/reply-writer.js';
import type { Stack } from '../test/helpers/stack.js';
import { call, fmtMs, note, nowMs, percentile, type Stats, stats, table } from './lib.js';

export type ReadCall = 'Ping' | 'Exists' | 'List';
const CALLS: readonly ReadCall[] = ['Ping', 'Exists', 'List'];
export type RoundStats = Record<ReadCall, Stats> & {
  p90: Record<ReadCall, number>;
  p99: Record<ReadCall, number>;
};

/** The three calls of a round, from one client. */
export function readCalls(client: dbus.MessageBus, ref: string): Record<ReadCall, () => Promise<unknown>> {
  const ping = new dbus.Message({
    destination: 'org.bootc.Storage',
    path: '/org/bootc/Storage',
    interface: 'org.freedesktop.DBus.Peer',
    member: 'Ping',
  });
  return {
    Ping: () => client.call(ping),
    Exists: () => call(client, 'Exists', 's', [ref]),
    List: () => call(client, 'List'),
  };
}

function summarize(samples: Record<ReadCall, number[]>): RoundStats {
  const by = <T>(f: (s: number[]) => T) =>
    Object.fromEntries(CALLS.map((c) => [c, f(samples[c])])) as Record<ReadCall, T>;
  return { ...by(stats), p90: by((s) => percentile(s, 90)), p99: by((s) => percentile(s, 99)) };
}

/** `n` rounds of one call each, in an order that rotates every round, after 200 untimed rounds. */
export async function runRounds(
  calls: Record<ReadCall, () => Promise<unknown>>,
  n: number,
  blockCount: number,
): Promise<{ all: RoundStats; blocks: RoundStats[] }> {
  for (let i = 0; i < 200; i++) for (const c of CALLS) await calls[c]();
  const all: Record<ReadCall, number[]> = { Ping: [], Exists: [], List: [] };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < CALLS.length; k++) {
      const c = CALLS[(i + k) % CALLS.length]!;
      const t0 = nowMs();
      await calls[c]();
      all[c].push(nowMs() - t0);
    }
  }
  const size = Math.ceil(n / blockCount);
  const blocks = Array.from({ length: blockCount }, (_, b) =>
    summarize({
      Ping: all.Ping.slice(b * size, (b + 1) * size),
      Exists: all.Exists.slice(b * size, (b + 1) * size),
      List: all.List.slice(b * size, (b + 1) * size),
    }),
  );
  return { all: summarize(all), blocks };
}

/** One "call timing" line of the traced daemon. */
interface TraceEntry {
  msg?: string;
  method?: string;
  us?: Record<string, number>;
  granted?: boolean;
  cachedBody?: boolean;
  bodyBytes?: number;
}

function traces(output: string, from: number): TraceEntry[] {
  const out: TraceEntry[] = [];
  for (const line of output.slice(from).split('\n')) {
    if (!line.includes('"call timing"')) continue;
    try {
      out.push(JSON.parse(line) as TraceEntry);
    } catch {
      // a partial line
    }
  }
  return out;
}

/** The daemon's stages, in the order they run, and what each is. */
const STAGES: [string, string][] = [
  ['parse', 'reading the call: header fields and body (dbus-next DBusBuffer, behind the size limit)'],
  ['dispatch', "dbus-next's handler chain, routing, the operations table"],
  ['check', 'signature and argument schema (zod)'],
  ['authorize', 'read grant per caller (polkit asked on a miss only)'],
  ['run', "the image view: the store's change token (stat + read of images.lock) and the lookup"],
  ['project', 'toDBus: the result as D-Bus values (List: only when its body is not cached)'],
  ['marshal', 'the body (List: the cached buffer of this view snapshot; Exists: with its header)'],
  ['header', 'the header, and the body copied or written after it (src/api/dbus/reply-writer.ts)'],
  ['write', 'the write to the socket (one syscall)'],
];

export interface Breakdown {
  /** Client medians in the traced run (tracing costs a little). */
  traced: RoundStats;
  stages: Record<'Exists' | 'List', Record<string, number>>;
  listBytes: number;
  uncached: { n: number; marshal: number; project: number };
  auth: { granted: number; freshRoot: number; nFreshRoot: number; nobody: number; nNobody: number };
  marshalling: Record<string, number>;
}

/** Median of one stage over entries, 0 when no entry has it. */
function stage(entries: TraceEntry[], name: string): number {
  const v = entries.map((e) => e.us?.[name]).filter((x): x is number => typeof x === 'number');
  return v.length ? stats(v).median : 0;
}

/** CPU µs (user + system of this process) per call of fn over n calls, after n/10 untimed: unlike wall
 * time, other processes on a loaded machine do not inflate it. */
function perCallUs(n: number, fn: () => unknown): number {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / n;
}

/** Marshalling a List reply in this process, with dbus-next's code and with the daemon's. */
function measureMarshalling(images: unknown[][]): Record<string, number> {
  const as32 = images.map(([id, names, digest, size, created]) => [
    id,
    names,
    digest,
    Number(size),
    Number(created),
  ]);
  const call = { serial: 7, sender: ':1.99' } as unknown as dbus.Message;
  const dbusNext = (sig: string, body: unknown[]) => () => {
    const m = dbus.Message.newMethodReturn(call, sig, body);
    m.serial = 1;
    return compat.marshallMessage(m);
  };
  const bytes64 = (
    compat.marshallMessage(
      Object.assign(dbus.Message.newMethodReturn(call, 'a(sasstx)', [images]), { serial: 1 }),
    ) as [Buffer]
  )[0];
  const bytes32 = (
    compat.marshallMessage(
      Object.assign(dbus.Message.newMethodReturn(call, 'a(sassui)', [as32]), { serial: 1 }),
    ) as [Buffer]
  )[0];
  const cached = marshalBody('a(sasstx)', [images]);
  const n = 2000;
  return {
    dbusNext64: perCallUs(n, dbusNext('a(sasstx)', [images])),
    dbusNext32: perCallUs(n, dbusNext('a(sassui)', [as32])),
    oursUncached: perCallUs(n, () =>
      methodReturnBytes(1, { serial: 7, sender: ':1.99' }, 'a(sasstx)', marshalBody('a(sasstx)', [images])),
    ),
    oursCached: perCallUs(n, () =>
      methodReturnHeader(1, { serial: 7, sender: ':1.99' }, 'a(sasstx)', cached.length),
    ),
    clientUnmarshal64: perCallUs(n, () => messageModule.unmarshall(bytes64)),
    clientUnmarshal32: perCallUs(n, () => messageModule.unmarshall(bytes32)),
  };
}

/** Waits until the daemon's output stops growing for a moment: its log line for a call trails the reply. */
async function settle(daemon: { output(): string }): Promise<number> {
  for (let i = 0; ; i++) {
    const before = daemon.output().length;
    await new Promise((r) => setTimeout(r, 60));
    if (daemon.output().length === before || i >= 30) return before;
  }
}

/** Restarts the daemon with tracing, measures, and leaves it running traced (the stack stops it). */
export async function measureBreakdown(
  s: Stack,
  ref: string,
  opts: {
    rounds: number;
    outsideWrite: (i: number) => Promise<void>;
    asNobody: (member: string, n: number) => Promise<number>;
    connect: () => dbus.MessageBus;
  },
): Promise<Breakdown> {
  const daemon = await s.restartDaemon([], { BOOTC_STORAGED_TRACE_CALLS: '1' });
  const calls = readCalls(s.client, ref);
  const [images] = (await call(s.client, 'List')) as [unknown[][]];
  let from = await settle(daemon);
  const traced = (await runRounds(calls, opts.rounds, 1)).all;
  await settle(daemon);
  const warm = traces(daemon.output(), from).filter((e) => e.granted === true);
  const exists = warm.filter((e) => e.method === 'Exists');
  const list = warm.filter((e) => e.method === 'List' && e.cachedBody === true);

  note('breakdown: List right after an outside write (uncached body)');
  const uncached: TraceEntry[] = [];
  for (let i = 0; i < 8; i++) {
    await opts.outsideWrite(i);
    from = await settle(daemon);
    await calls.List();
    await settle(daemon);
    uncached.push(
      ...traces(daemon.output(), from).filter((e) => e.method === 'List' && e.cachedBody === false),
    );
  }

  note('breakdown: new callers (root in this process; nobody through busctl)');
  from = await settle(daemon);
  const nFresh = 20;
  for (let i = 0; i < nFresh; i++) {
    const c = opts.connect();
    await c.call(
      new dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'GetId',
      }),
    );
    await call(c, 'List');
    c.disconnect();
  }
  await settle(daemon);
  const freshRoot = traces(daemon.output(), from).filter((e) => e.method === 'List' && e.granted === false);
  from = await settle(daemon);
  const okNobody = await opts.asNobody('List', 10);
  await settle(daemon);
  const nobody = traces(daemon.output(), from).filter((e) => e.method === 'List' && e.granted === false);
  if (okNobody !== nobody.length) note(`busctl as nobody: ${okNobody} answered, ${nobody.length} traced`);

  const stageMedians = (entries: TraceEntry[]) =>
    Object.fromEntries(STAGES.map(([k]) => [k, stage(entries, k)]));
  return {
    traced,
    stages: { Exists: stageMedians(exists), List: stageMedians(list) },
    listBytes: list[0]?.bodyBytes ?? 0,
    uncached: {
      n: uncached.length,
      marshal: stage(uncached, 'marshal'),
      project: stage(uncached, 'project'),
    },
    auth: {
      granted: stage(list, 'authorize'),
      freshRoot: stage(freshRoot, 'authorize'),
      nFreshRoot: freshRoot.length,
      nobody: stage(nobody, 'authorize'),
      nNobody: nobody.length,
    },
    marshalling: measureMarshalling(images),
  };
}

const us = (v: number) => (v >= 1000 ? fmtMs(v / 1000) : `${v.toFixed(1)} µs`);

/** The breakdown tables. */
export function printBreakdown(b: Breakdown, floor: RoundStats, images: number): void {
  console.log(`## Where a List call's time goes (${images} images, warm client)\n`);
  const sum = (k: 'Exists' | 'List') => Object.values(b.stages[k]).reduce((a, v) => a + v, 0);
  console.log(
    'The daemon restarted with `BOOTC_STORAGED_TRACE_CALLS=1` (src/api/dbus/call-trace.ts: one debug line per ' +
      'call with the microseconds of each stage; off, it costs nothing), then the same interleaved rounds ' +
      `(${b.traced.List.n}). Medians per stage over the calls with a read grant (and, for List, its cached body). ` +
      '"Outside the handler" is the client median minus the daemon stages: the bus daemon\'s two hops each way, ' +
      "the kernel, and the client's own dbus-next (a Ping pays the same, minus a body).\n",
  );
  const rows = STAGES.map(([k, what]) => [k, what, us(b.stages.Exists[k] ?? 0), us(b.stages.List[k] ?? 0)]);
  rows.push(['**in the daemon**', 'sum of the stages', us(sum('Exists')), us(sum('List'))]);
  const outside = (k: 'Exists' | 'List') => b.traced[k].median * 1000 - sum(k);
  rows.push([
    'outside the handler',
    'client median − daemon stages',
    us(outside('Exists')),
    us(outside('List')),
  ]);
  rows.push([
    '**client median**',
    `traced run (untraced: Exists ${fmtMs(floor.Exists.median)}, List ${fmtMs(floor.List.median)}, Ping ${fmtMs(floor.Ping.median)})`,
    fmtMs(b.traced.Exists.median),
    fmtMs(b.traced.List.median),
  ]);
  rows.push([
    'Peer.Ping, same run',
    'the floor: every stage above is beyond it except parse, write and the hops',
    fmtMs(b.traced.Ping.median),
    '',
  ]);
  console.log(table(['stage', 'what', 'Exists', 'List'], rows));

  const m = b.marshalling;
  const beyond = (k: 'Exists' | 'List') =>
    ['check', 'authorize', 'run', 'project', 'marshal', 'header'].reduce(
      (t, st) => t + (b.stages[k][st] ?? 0),
      0,
    );
  console.log(
    `\nBeyond a Ping, untraced: Exists ${us((floor.Exists.median - floor.Ping.median) * 1000)}, List ` +
      `${us((floor.List.median - floor.Ping.median) * 1000)} (medians). In the traced daemon the stages a Ping ` +
      `does not run (check, authorize, run, project, marshal, header) took ${us(beyond('Exists'))} for Exists ` +
      `and ${us(beyond('List'))} for List, most of it the view's change token (run); the client's dbus-next ` +
      `spends ${us(m.clientUnmarshal64!)} of CPU unmarshalling List's ${b.listBytes}-byte body ` +
      `(${us(m.clientUnmarshal64! - m.clientUnmarshal32!)} of it on the 64-bit fields, below), and the bus ` +
      'copies the larger message on both hops.\n',
  );
  console.log(
    `\nMarshalling the List reply (${images} images, ${b.listBytes} bytes of body: 2 × ${images} 64-bit fields), CPU µs per reply, measured in this process over 2,000 replies each with the same values:\n`,
  );
  console.log(
    table(
      ['path', 'µs per reply', 'of which 64-bit fields (t, x)'],
      [
        [
          "dbus-next 0.10.2's marshaller (the daemon's path before issue 15)",
          us(m.dbusNext64!),
          `${us(m.dbusNext64! - m.dbusNext32!)} (vs the same values as 32-bit)`,
        ],
        [
          "the daemon's marshaller, uncached (a List right after the store changed)",
          us(m.oursUncached!),
          '— (written as two 32-bit words, no BigInt)',
        ],
        [
          "the daemon's reply with the cached body (every other List): its header; the body leaves uncopied",
          us(m.oursCached!),
          '—',
        ],
        [
          "the client's dbus-next unmarshalling the reply (paid by every caller)",
          us(m.clientUnmarshal64!),
          `${us(m.clientUnmarshal64! - m.clientUnmarshal32!)} (each t/x through Long → string → BigInt)`,
        ],
      ],
    ),
  );
  console.log(
    `\nIn the traced daemon, a List right after an outside write (N=${b.uncached.n}) spent ${us(b.uncached.project)} ` +
      `projecting and ${us(b.uncached.marshal)} marshalling its body, once; later Lists of that snapshot reuse it.\n`,
  );
  console.log(
    table(
      ['authorization of a read', 'median', 'what it is'],
      [
        [
          'a caller with a read grant (every warm call)',
          us(b.auth.granted),
          'one Map lookup: polkit said yes to this bus name < 10 s ago',
        ],
        [
          `a new connection as root (N=${b.auth.nFreshRoot})`,
          us(b.auth.freshRoot),
          'GetConnectionUnixUser to the bus; root is never sent to polkit',
        ],
        [
          `a new connection as nobody, busctl (N=${b.auth.nNobody})`,
          us(b.auth.nobody),
          'GetConnectionUnixUser, then polkit CheckAuthorization',
        ],
      ],
    ),
  );
  console.log(
    '\nA read grant lasts 10 s per bus name (at most 4,096 are kept, the oldest evicted first); it is dropped when ' +
      'the caller leaves the bus (NameOwnerChanged) and all are dropped when polkit signals Changed. Only a yes is ' +
      'kept: a denied caller is asked again, and denied, on every call.\n',
  );
}
