// The daemon's share of the stall a 16 MB Remove(as) causes. src/api/dbus/message-limit.ts refuses it from its
// header, but the daemon still has to read the 16 MB off its socket before it reaches the next message, and an
// Exists queued behind it waits for that. dbus-daemon stalls too: it validates the whole body before routing
// anything (its own GetId waits ~40-150 ms). A second process probes both: GetId (answered by dbus-daemon itself)
// every ms without waiting for answers, so any GetId answered late marks a stretch when the bus was not
// answering; and Exists on the daemon, one at a time. The daemon's share of an Exists is its latency less the
// time the bus was stalled during it. (Exists minus a GetId sent with it is not: an Exists crosses the bus twice,
// call and reply, and when the bus's stall falls between the two the daemon is charged the whole stall.)
// Knobs: BENCH_HUGE_RUNS (5), BENCH_HUGE_GAP_MS (2), BENCH_HUGE_BUNDLE=<a bootc-storaged.cjs> (run that build of
// the daemon, e.g. one made from another revision, instead of .cache/test-bundle), BENCH_HUGE_CPU_PROF=<dir>
// (profile the daemon, below).

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DAEMON_BUNDLE,
  DAEMON_NODE_OPTIONS,
  type DaemonProcess,
  startDaemon,
} from '../test/helpers/daemon.js';
import { connected, now, sendRaw, stringListBody } from '../test/helpers/huge-message.js';
import { makeSandbox } from '../test/helpers/sandbox.js';
import { REPO, type SystemBus, startSystemBus } from '../test/helpers/system-bus.js';
import { makeTempDir } from '../test/helpers/tmp.js';
import { fmtMs, fmtRatio, main, note, percentile, sleep, stats, table } from './lib.js';
import { recordTarget } from './targets.js';

const RUNS = Number(process.env.BENCH_HUGE_RUNS ?? 5);
/** The pause after each probe pair's answers before the next pair. */
const GAP_MS = Number(process.env.BENCH_HUGE_GAP_MS ?? 2);
const IDLE_MS = 2000;
/** How long after the refusal each window lasts, so a stall that follows it is inside it. */
const TAIL_MS = 300;
const TARGET_MS = 50;
/**
 * A directory: the daemon runs under V8's sampling profiler (bench/cpu-profile-preload.cjs; Node 20 refuses
 * --cpu-prof in NODE_OPTIONS) and writes <pid>.cpuprofile there when it stops.
 */
const CPU_PROF = process.env.BENCH_HUGE_CPU_PROF;
const PROFILED: NodeJS.ProcessEnv = CPU_PROF
  ? {
      NODE_OPTIONS: `${DAEMON_NODE_OPTIONS} --require ${join(REPO, 'bench/cpu-profile-preload.cjs')}`,
      CPU_PROF_DIR: CPU_PROF,
    }
  : {};
const BUNDLE = process.env.BENCH_HUGE_BUNDLE ?? DAEMON_BUNDLE;
/** Exists of an image the store does not hold: answered from the daemon's view, no registry involved. */
const PROBE_REF = '127.0.0.1:9/probe/absent:v1';

interface Setup {
  bus: SystemBus;
  daemon: DaemonProcess;
}

/**
 * What the benchmark needs of the test stack (test/helpers/stack.ts): a private system bus with polkitd and the
 * daemon on a sandbox sysroot, here from BUNDLE. No registry: nothing is pulled. Always stopped, also on a signal.
 */
async function withBusAndDaemon(fn: (s: Setup) => Promise<void>): Promise<void> {
  const tmp = makeTempDir('bsd-huge-');
  const sandbox = makeSandbox([]);
  let bus: SystemBus | undefined;
  let daemon: DaemonProcess | undefined;
  const stop = async () => {
    await daemon?.stop();
    await bus?.stop();
    sandbox.remove();
    tmp.remove();
  };
  const onSignal = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    bus = await startSystemBus(join(tmp.path, 'bus'));
    note(`the daemon from ${BUNDLE}`);
    daemon = await startDaemon({
      busAddress: bus.address,
      sysroot: sandbox.sysroot,
      run: sandbox.run,
      env: { ...sandbox.env, ...PROFILED },
      bundle: BUNDLE,
    });
    await fn({ bus, daemon });
  } finally {
    await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// Two probes on two connections, one line per answer: ['g' | 'e', start (epoch ms), ms] (ms -1: failed).
// GetId starts every ms whether or not the last was answered, so a stall of the bus shows as GetIds answered
// late; Exists waits for its answer, then GAP ms, like a client that waits.
const PROBER = `
const dbus = require('dbus-next');
const open = () => dbus.sessionBus({ busAddress: process.env.PROBE_BUS });
const busConn = open(), daemonConn = open();
const now = () => performance.timeOrigin + performance.now();
const getId = () => busConn.call(new dbus.Message({ destination: 'org.freedesktop.DBus',
  path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' }));
const exists = () => daemonConn.call(new dbus.Message({ destination: 'org.bootc.Storage',
  path: '/org/bootc/Storage', interface: 'org.bootc.Storage', member: 'Exists', signature: 's',
  body: [process.env.PROBE_REF] }));
const timed = (kind, probe) => {
  const t0 = now();
  return probe().then(() => now() - t0, () => -1).then((ms) => process.stdout.write(JSON.stringify([kind, t0, ms]) + '\\n'));
};
(async () => {
  for (let i = 0; i < 50; i++) await Promise.all([getId(), exists()]);
  process.stdout.write('ready\\n');
  setInterval(() => timed('g', getId), 1);
  for (;;) {
    await timed('e', exists);
    await new Promise((r) => setTimeout(r, Number(process.env.PROBE_GAP)));
  }
})().catch((e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
`;

interface Probe {
  kind: 'g' | 'e';
  start: number;
  ms: number;
}

async function startProber(s: Setup) {
  const proc = spawn(process.execPath, ['-e', PROBER], {
    cwd: REPO,
    env: {
      ...process.env,
      PROBE_BUS: s.bus.address,
      PROBE_REF: PROBE_REF,
      PROBE_GAP: String(GAP_MS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const probes: Probe[] = [];
  let ready = false;
  let rest = '';
  proc.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') ready = true;
      else if (line) {
        const [kind, start, ms] = JSON.parse(line) as [Probe['kind'], number, number];
        probes.push({ kind, start, ms });
      }
    }
  });
  for (let i = 0; !ready; i++) {
    if (proc.exitCode !== null || i > 1000) throw new Error('the prober did not start');
    await sleep(10);
  }
  return { probes, stop: () => proc.kill('SIGKILL') };
}

/** CPU time (user + system) a process has used, in ms (clock ticks: 10 ms steps). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

interface Window {
  label: string;
  ms: number;
  calls: number;
  busMax: number;
  existsMax: number;
  shareP50: number;
  shareP99: number;
  shareMax: number;
  replyMs?: number;
  cpu: { bus: number; daemon: number };
}

/** A GetId slower than this means the bus itself was not answering (idle: ~0.2 ms). */
const BUS_STALL_MS = 2;

/** How long [from, to] overlaps the (sorted, disjoint) intervals. */
function overlap(from: number, to: number, intervals: [number, number][]): number {
  let ms = 0;
  for (const [a, b] of intervals) ms += Math.max(0, Math.min(to, b) - Math.max(from, a));
  return ms;
}

/**
 * The probes that overlapped [from, to]. The bus was stalled wherever a GetId took over BUS_STALL_MS (from its
 * start to its answer); the daemon's share of an Exists is its latency less the time the bus was stalled in it.
 */
function measure(probes: Probe[], from: number, to: number, label: string): Omit<Window, 'cpu'> {
  const hit = probes.filter((p) => p.start < to && p.start + p.ms > from);
  if (hit.some((p) => p.ms < 0)) throw new Error(`${label}: a probe failed`);
  const getIds = hit.filter((p) => p.kind === 'g');
  const exists = hit.filter((p) => p.kind === 'e');
  if (exists.length < 5 || getIds.length < 50) throw new Error(`${label}: too few probes`);
  const stalls: [number, number][] = [];
  for (const g of getIds.filter((p) => p.ms > BUS_STALL_MS).sort((a, b) => a.start - b.start)) {
    const last = stalls.at(-1);
    if (last && g.start <= last[1]) last[1] = Math.max(last[1], g.start + g.ms);
    else stalls.push([g.start, g.start + g.ms]);
  }
  const share = exists.map((e) => e.ms - overlap(e.start, e.start + e.ms, stalls));
  return {
    label,
    ms: to - from,
    calls: exists.length,
    busMax: Math.max(...getIds.map((p) => p.ms)),
    existsMax: Math.max(...exists.map((p) => p.ms)),
    shareP50: percentile(share, 50),
    shareP99: percentile(share, 99),
    shareMax: Math.max(...share),
  };
}

main(() =>
  withBusAndDaemon(async (s) => {
    const busPid = Number(
      execFileSync('pgrep', ['-f', s.bus.socket.replace('system_bus_socket', 'bus.conf')])
        .toString()
        .trim(),
    );
    const daemonPid = s.daemon.proc.pid!;
    const cpu = () => ({ bus: cpuMs(busPid), daemon: cpuMs(daemonPid) });
    const cpuSince = (c: { bus: number; daemon: number }) => ({
      bus: cpuMs(busPid) - c.bus,
      daemon: cpuMs(daemonPid) - c.daemon,
    });
    note(`prober: GetId every ms, Exists ${GAP_MS} ms after each answer`);
    const prober = await startProber(s);
    try {
      await sleep(200);
      let cpu0 = cpu();
      let from = now();
      await sleep(IDLE_MS);
      const rows: Window[] = [
        { ...measure(prober.probes, from, now(), 'idle (reference)'), cpu: cpuSince(cpu0) },
      ];
      const body = stringListBody(2_000_000, 'abc');
      for (let run = 1; run <= RUNS; run++) {
        note(`run ${run}/${RUNS}: 16 MB Remove(as) of 2,000,000 strings`);
        const client = await connected(s.bus.address);
        await sleep(100);
        cpu0 = cpu();
        from = now();
        const reply = await sendRaw(client, 'Remove', body);
        await sleep(TAIL_MS);
        const w = measure(prober.probes, from, now(), `16 MB Remove, run ${run}`);
        rows.push({ ...w, replyMs: reply.ms, cpu: cpuSince(cpu0) });
        client.disconnect();
        if (reply.name !== 'org.bootc.Storage.Error.InvalidArgument') {
          throw new Error(`Remove answered ${reply.name}: ${reply.text}`);
        }
        await sleep(200);
      }
      report(rows);
    } finally {
      prober.stop();
    }
  }),
);

function report(rows: Window[]) {
  const runs = rows.slice(1);
  const shares = stats(runs.map((r) => r.shareMax));
  const stalls = stats(runs.map((r) => r.busMax));
  console.log("## A 16 MB Remove(as): the daemon's share of the stall\n");
  console.log(
    'One connection writes a 16,000,004-byte Remove(as) of 2,000,000 strings, which ' +
      'src/api/dbus/message-limit.ts refuses from its header; the daemon still reads the 16 MB off its socket ' +
      'before the next message. A second process, on two connections of its own, sends the bus its own GetId ' +
      "every ms without waiting for answers (dbus-daemon answers it: the bus's stall, no daemon involved) and " +
      `calls Exists on the daemon, one at a time with ${GAP_MS} ms between an answer and the next call. A GetId ` +
      `answered after more than ${BUS_STALL_MS} ms marks the bus as stalled from its call to its answer; the ` +
      "daemon's share of an Exists is its latency less the time the bus was stalled during it (an Exists " +
      'crosses the bus twice, so Exists minus a GetId sent with it would charge the daemon for a bus stall that ' +
      `falls between its call and its reply). Each window runs from the write to ${TAIL_MS} ms after the ` +
      'refusal; CPU is what each process used in it (clock ticks, 10 ms steps); the idle row is the same probes ' +
      `with nothing else going on. Target: the daemon's share under ${TARGET_MS} ms in every run.\n`,
  );
  console.log(
    table(
      [
        'window',
        'over',
        'Exists calls',
        'GetId max (bus)',
        'Exists max',
        'Exists max − GetId max',
        'share p50',
        'share p99',
        'share max',
        'share max ÷ GetId max',
        'refusal after',
        'CPU bus / daemon',
      ],
      rows.map((r) => [
        r.label,
        fmtMs(r.ms),
        `${r.calls}`,
        fmtMs(r.busMax),
        fmtMs(r.existsMax),
        fmtMs(r.existsMax - r.busMax),
        fmtMs(r.shareP50),
        fmtMs(r.shareP99),
        fmtMs(r.shareMax),
        fmtRatio(r.shareMax / r.busMax),
        r.replyMs === undefined ? '—' : fmtMs(r.replyMs),
        `${r.cpu.bus} / ${r.cpu.daemon} ms`,
      ]),
    ),
  );
  const verdict = recordTarget({
    area: 'huge messages',
    measure: "the daemon's share of the stall of a 16 MB Remove (Exists less the bus's own stall), worst run",
    value: fmtMs(shares.max),
    target: `< ${TARGET_MS} ms`,
    met: shares.max < TARGET_MS,
  });
  console.log(
    `\nThe daemon's share over ${runs.length} runs: median ${fmtMs(shares.median)}, worst ${fmtMs(shares.max)} ` +
      `(target < ${TARGET_MS} ms: ${verdict}); the bus's own stall: median ${fmtMs(stalls.median)}, worst ` +
      `${fmtMs(stalls.max)}; share ÷ bus stall (medians): ${fmtRatio(shares.median / stalls.median)}.\n`,
  );
}
