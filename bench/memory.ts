// The daemon's memory and start-up: idle RSS right after start (target ≤ 50 MiB), what each part of it costs at
// rest (each dependency and piece of the daemon loaded alone in a fresh node, and the lazily loaded parts as
// measured in the running daemon on first use), cold activation (spawn → first reply to a D-Bus call, target
// ≤ 150 ms), and RSS across 10,000 mixed reads from a warm client (a leak check).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { DAEMON_MAIN_BUNDLE, DAEMON_NODE_OPTIONS, startDaemon } from '../test/helpers/daemon.js';
import {
  call,
  fmtMiB,
  fmtMs,
  fmtStats,
  logTime,
  main,
  note,
  nowMs,
  procStatusKiB,
  signedMiB,
  sleep,
  stats,
  table,
  withStack,
} from './lib.js';
import { readSmaps, SETTLE_MS, sampleIdleRss, startNotifyListener } from './memory-idle.js';
import { measureParts, partsTable } from './memory-parts.js';
import { recordTarget } from './targets.js';

const CALLS = Number(process.env.BENCH_MEMORY_CALLS ?? 10_000);
const COLD_REPS = Number(process.env.BENCH_MEMORY_COLD_REPS ?? 7);
const PART_REPS = Number(process.env.BENCH_MEMORY_PART_REPS ?? 2);
const PAUSE_MS = 5000;
const WARMUP_CALLS = 1000;
/** Issue 15: idle RSS of the bundled daemon ≤ 50 MiB; cold activation to the first reply ≤ 150 ms. */
const TARGET_IDLE_MIB = 50;
const TARGET_COLD_MS = 150;
/**
 * Leak verdict: growth from the first quarter of the calls to after the pause. The first few thousand calls
 * grow V8's young generation to its maximum (a one-time step, reported separately); a leak keeps growing after
 * that. 1 MiB over 7,500 calls is ~140 bytes per call.
 */
const NOISE_MIB = 1;

const mb = (kib: number) => `${((kib * 1024) / 1e6).toFixed(1)} MB`;

/** CPU time (user + system) a process has used so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime: fields 14 and 15 of stat(5)
}

/** RSS of a bare `node` that only waits: the floor any Node daemon starts from. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], {
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: DAEMON_NODE_OPTIONS },
  });
  try {
    await sleep(SETTLE_MS);
    return procStatusKiB(child.pid!, 'VmRSS');
  } finally {
    child.kill();
  }
}

/** One Varlink call on a fresh connection: the daemon loads its Varlink transport (and koffi, for the peer). */
function varlinkCall(path: string, method: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let got = '';
    sock.on('error', reject);
    sock.on('data', (d) => {
      got += d.toString();
      if (got.includes('\0')) {
        sock.end();
        if (got.includes('"error"')) reject(new Error(got));
        else resolve();
      }
    });
    sock.write(`${JSON.stringify({ method })}\0`);
  });
}

main(() =>
  withStack(async (s) => {
    // 1. Idle right after start. The stack's first daemon created the store (its podman loaded execa): that
    // happens once per host. Every later start (each activation after an idle exit) opens the store it finds:
    // that daemon is the one the target judges, as issue 15 measured it (no notify socket). The same start
    // under a notify socket, bound as systemd binds it, is shown beside it: sending READY=1 loads koffi.
    note(`idle RSS: ${SETTLE_MS} ms after start, then 5 samples 250 ms apart`);
    const firstStart = await sampleIdleRss(s.daemon.proc.pid!);
    const listener = await startNotifyListener(s.dir);
    await s.restartDaemon(undefined, { NOTIFY_SOCKET: listener.path, WATCHDOG_USEC: '60000000' });
    const notified = await sampleIdleRss(s.daemon.proc.pid!);
    const notifiedMemory = readSmaps(s.daemon.proc.pid!);
    const ready = listener.messages().find((m) => m.data.split('\n').includes('READY=1'));
    listener.stop();
    if (ready?.pid !== s.daemon.proc.pid)
      throw new Error(`no READY=1 from the daemon (pid ${s.daemon.proc.pid}): ${JSON.stringify(ready)}`);
    await s.restartDaemon();
    const pid = s.daemon.proc.pid!;
    const rss = () => procStatusKiB(pid, 'VmRSS');
    const idle = await sampleIdleRss(pid);
    const idleMemory = readSmaps(pid);
    const bare = await bareNodeRss();

    // 2. The lazily loaded parts, measured in the daemon itself: RSS before and after their first use.
    const lazy: string[][] = [];
    const before = rss();
    await varlinkCall(join(s.sandbox.run, 'bootc', 'org.bootc.Storage'), 'org.bootc.Storage.ListJobs');
    await sleep(500);
    const afterVarlink = rss();
    lazy.push([
      'first Varlink call (ListJobs on a new connection: the transport, koffi for SO_PEERCRED, polkit)',
      signedMiB(afterVarlink - before),
    ]);
    // The bench sandbox has no deployments: the roots code runs and refuses (NoRoots), which is the cost here.
    await call(s.client, 'PreviewGarbageCollect').catch(() => undefined);
    await sleep(500);
    lazy.push(['then the first PreviewGarbageCollect (GC roots code)', signedMiB(rss() - afterVarlink)]);

    // 3. What each part costs alone, in fresh node processes (bench/parts/*, bundled as the daemon is).
    note(`parts: ${PART_REPS} runs each`);
    const parts = await measureParts(dirname(process.argv[1] ?? '.'), PART_REPS);

    // 4. 10,000 mixed reads from one warm client, RSS sampled along the way.
    const ref = `${s.registry.host}/bench/memory:v1`;
    await s.builder.buildAndPush(ref, { bytes: 64 });
    await call(s.client, 'Pull', 'ss', [ref, 'missing']);
    const absent = `${s.registry.host}/bench/memory:absent`;
    const mixed = async (i: number) => {
      switch (i % 4) {
        case 0:
          return call(s.client, 'Exists', 's', [ref]);
        case 1:
          return call(s.client, 'List');
        case 2:
          return call(s.client, 'ListJobs');
        default:
          return call(s.client, 'Exists', 's', [absent]);
      }
    };
    note(`warm-up: ${WARMUP_CALLS} calls`);
    for (let i = 0; i < WARMUP_CALLS; i++) await mixed(i);
    await sleep(1000);
    const points: { label: string; kib: number }[] = [
      { label: `after a ${WARMUP_CALLS.toLocaleString('en-US')}-call warm-up (baseline)`, kib: rss() },
    ];
    note(`${CALLS} calls`);
    const t0 = nowMs();
    for (let i = 0; i < CALLS; i++) {
      await mixed(i);
      if ((i + 1) % (CALLS / 4) === 0)
        points.push({ label: `after ${(i + 1).toLocaleString('en-US')} calls`, kib: rss() });
    }
    const callsMs = nowMs() - t0;
    await sleep(PAUSE_MS);
    points.push({ label: `after a ${PAUSE_MS / 1000} s pause`, kib: rss() });
    const hwm = procStatusKiB(pid, 'VmHWM');
    const growth = points.at(-1)!.kib - points[0]!.kib;
    const lateGrowth = points.at(-1)!.kib - points[1]!.kib;

    // 5. Cold activation: the stack's daemon is stopped; each run spawns a fresh one and polls one method every
    // 5 ms from the warm client until it answers (before the name is owned the bus says ServiceUnknown). The
    // runs alternate between ListJobs (a read authorized by polkit, answered without the store) and Exists
    // (answered from the image view, which the daemon's first `podman image list` fills).
    note(`cold start: ${COLD_REPS} runs of each`);
    await s.daemon.stop();
    const cold = { ListJobs: [] as number[], Exists: [] as number[] };
    const toServing: number[] = [];
    const firstRss: number[] = [];
    const firstCpu: number[] = [];
    for (let i = 0; i < 2 * COLD_REPS; i++) {
      const method = i % 2 === 0 ? 'ListJobs' : 'Exists';
      const wall0 = Date.now();
      const c0 = nowMs();
      const d = await startDaemon({
        busAddress: s.bus.address,
        sysroot: s.sandbox.sysroot,
        run: s.sandbox.run,
        env: s.sandbox.env,
        waitForName: false,
      });
      try {
        for (;;) {
          if (d.proc.exitCode !== null)
            throw new Error(`the daemon exited ${d.proc.exitCode}: ${d.output()}`);
          if (nowMs() - c0 > 60_000) throw new Error('no reply within 60 s');
          const ok = await (method === 'ListJobs'
            ? call(s.client, 'ListJobs').then(() => true)
            : call(s.client, 'Exists', 's', [ref]).then((b) => b[0] === true)
          ).catch(() => false);
          if (ok) break;
          await sleep(5);
        }
        cold[method].push(nowMs() - c0);
        if (method === 'ListJobs') firstCpu.push(cpuMs(d.proc.pid!));
        firstRss.push(procStatusKiB(d.proc.pid!, 'VmRSS'));
        await sleep(50);
        const servingAt = logTime(d.output(), 'serving');
        if (servingAt !== undefined) toServing.push(servingAt - wall0);
      } finally {
        await d.stop();
      }
    }

    // 6. The same daemon without the code cache: its bundle run directly by node (as before the loader).
    note('one daemon without the code cache');
    const plain = await startDaemon({
      busAddress: s.bus.address,
      sysroot: s.sandbox.sysroot,
      run: s.sandbox.run,
      env: s.sandbox.env,
      bundle: DAEMON_MAIN_BUNDLE,
    });
    let plainIdle: number;
    try {
      // Sampled as the cached start is (the median of five after settling), so the two compare.
      plainIdle = (await sampleIdleRss(plain.proc.pid!)).median;
    } finally {
      await plain.stop();
    }

    const coldReply = stats(cold.ListJobs);
    const idleVerdict = recordTarget({
      area: 'memory',
      measure: 'idle RSS of the bundled daemon',
      value: fmtMiB(idle.median),
      target: `≤ ${TARGET_IDLE_MIB} MiB`,
      met: idle.median / 1024 <= TARGET_IDLE_MIB,
    });
    const coldVerdict = recordTarget({
      area: 'memory',
      measure: 'cold activation: spawn → first reply to a D-Bus call (ListJobs)',
      value: fmtMs(coldReply.median),
      target: `≤ ${TARGET_COLD_MS} ms`,
      met: coldReply.median <= TARGET_COLD_MS,
    });
    const leakMet = lateGrowth / 1024 <= NOISE_MIB;

    console.log('## Memory and start-up\n');
    console.log(
      "Daemon RSS is `VmRSS` from `/proc/<pid>/status` of the daemon's node process: the esbuild bundle run " +
        'by its loader with the V8 code cache the build made (scripts/daemon-loader.cjs), started as its unit ' +
        `starts it (NODE_OPTIONS=${DAEMON_NODE_OPTIONS}) by the test harness, with debug logging. Idle: ` +
        'sampled 5 times, 250 ms apart, ' +
        `${SETTLE_MS / 1000} s after the daemon reported "serving", before any call, in a daemon started on the ` +
        'store a first start created. The same start with $NOTIFY_SOCKET bound by a datagram listener is shown ' +
        "too (READY=1 arrived from the daemon's own pid; no helper process). Anonymous memory and file pages " +
        'from /proc/<pid>/smaps_rollup (file pages are clean, shared with every process that maps the same ' +
        'files, and reclaimable). Targets (issue 15): idle ' +
        `RSS ≤ ${TARGET_IDLE_MIB} MiB; cold activation ≤ ${TARGET_COLD_MS} ms.\n`,
    );
    console.log(
      table(
        ['measure', 'value', 'target', 'met?'],
        [
          [
            'idle RSS right after start (on the store a previous start made)',
            `${fmtMiB(idle.median)} = ${mb(idle.median)} (${fmtMiB(idle.min)}–${fmtMiB(idle.max)})`,
            `≤ ${TARGET_IDLE_MIB} MiB`,
            idleVerdict,
          ],
          [
            'reference: the same start under a notify socket, as systemd runs it (READY=1 through koffi)',
            `${fmtMiB(notified.median)} (${signedMiB(notified.median - idle.median)}: anonymous ` +
              `${signedMiB(notifiedMemory.anonymous - idleMemory.anonymous)}, file pages ` +
              `${signedMiB(notifiedMemory.file - idleMemory.file)} of koffi.node, libstdc++ and node)`,
            '—',
            '—',
          ],
          [
            'reference: the very first start, which creates the store (its podman loads execa)',
            `${fmtMiB(firstStart.median)} (${signedMiB(firstStart.median - idle.median)})`,
            '—',
            '—',
          ],
          [
            'reference: the same daemon without the V8 code cache (bootc-storaged-main.cjs run directly)',
            `${fmtMiB(plainIdle)} (the code cache saves ${fmtMiB(plainIdle - idle.median)})`,
            '—',
            '—',
          ],
          [
            'reference: a bare idle `node -e setTimeout(…)` (same flags)',
            `${fmtMiB(bare)} = ${mb(bare)}; the daemon adds ${signedMiB(idle.median - bare)}`,
            '—',
            '—',
          ],
          [
            'cold activation: spawn → first reply to a D-Bus call (ListJobs)',
            fmtStats(coldReply),
            `≤ ${TARGET_COLD_MS} ms`,
            coldVerdict,
          ],
          [
            `RSS growth, ${points[1]!.label} → after the pause (leak check)`,
            signedMiB(lateGrowth),
            `≤ ${NOISE_MIB} MiB (noise)`,
            leakMet ? 'met' : 'MISSED',
          ],
        ],
      ),
    );
    console.log(
      '\n### What each part costs\n\n' +
        'Each part alone in a fresh `node` (same flags): bench/parts/*.ts bundled with the daemon bundle’s own ' +
        'esbuild options (scripts/bundle-options.mjs), loaded with `require`; "load time" is the require (and ' +
        `any start-up promise), RSS is read ${500} ms later, as the median of ${PART_REPS} runs, minus a bare ` +
        'node’s. Parts share code (zod is inside the operations table, which is inside both transports), so ' +
        'the rows do not add up; "in the daemon" says when the daemon loads it. The Varlink transport and koffi ' +
        'are loaded on first use; below, what that first use costs in the running daemon.\n',
    );
    console.log(partsTable(parts));
    console.log('');
    console.log(
      table(
        [
          'in the running daemon, after its idle samples (first use; includes the heap growth of its first calls)',
          'RSS',
        ],
        lazy,
      ),
    );
    console.log(
      `\nCold activation, ${COLD_REPS} runs per method, alternating: the daemon spawned (node + bundle, on the ` +
        "store created by the first start, so no store initialization) with the stack's daemon stopped; a " +
        'warm client polls the method every 5 ms from the spawn until its first successful reply (before the ' +
        'daemon owns its name the bus answers ServiceUnknown at once). ListJobs is answered as soon as the name ' +
        "is owned (after the new daemon's first polkit check); Exists waits for the image view, which the " +
        'daemon\'s first `podman image list` fills. "serving" is the daemon\'s own log line (ms resolution, wall ' +
        'clock). On a loaded machine the wall-clock figures grow with the load (see the load average below); ' +
        "the daemon's own CPU time up to its first reply (10 ms ticks, as `unshare` execs node in the same " +
        'process) does much less.\n',
    );
    console.log(
      table(
        ['measure', `median (min–max), N=${COLD_REPS}`],
        [
          ['spawn → first successful ListJobs reply', fmtStats(coldReply)],
          [
            'spawn → first successful Exists reply (includes podman image list)',
            fmtStats(stats(cold.Exists)),
          ],
          [
            "the daemon's CPU time (user + system) at its first ListJobs reply (less sensitive to load)",
            fmtStats(stats(firstCpu)),
          ],
          ['spawn → "serving" log line', toServing.length > 0 ? fmtStats(stats(toServing)) : '—'],
          [
            'RSS at the first reply',
            (() => {
              const r = stats(firstRss);
              return `${fmtMiB(r.median)} (${fmtMiB(r.min)}–${fmtMiB(r.max)})`;
            })(),
          ],
        ],
      ),
    );
    console.log(
      `\nLeak check: one warm dbus-next client makes ${CALLS.toLocaleString('en-US')} calls one after another, ` +
        'cycling Exists (present image), List, ListJobs and Exists (absent image), on a store of one image; RSS ' +
        `after a ${WARMUP_CALLS.toLocaleString('en-US')}-call warm-up, every ${(CALLS / 4).toLocaleString('en-US')} ` +
        `calls, and after a ${PAUSE_MS / 1000} s pause (time for V8 to collect). Judged from the ` +
        `${(CALLS / 4).toLocaleString('en-US')}-call mark: the first calls grow V8's young generation once; a ` +
        `leak keeps growing after that. Call rate: ${((CALLS / callsMs) * 1000).toFixed(0)} calls/s ` +
        `(${fmtMs(callsMs / CALLS)} each); peak RSS (VmHWM) ${fmtMiB(hwm)}; growth over all calls from the ` +
        `baseline ${signedMiB(growth)}.\n`,
    );
    console.log(
      table(
        ['RSS sample', 'RSS', 'vs baseline'],
        points.map((p) => [p.label, fmtMiB(p.kib), signedMiB(p.kib - points[0]!.kib)]),
      ),
    );
    console.log('');
  }),
);
