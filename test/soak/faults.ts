// The fault injector: one fault at a time, its kind drawn from a seeded shuffled deck (every kind once per
// round, in a random order), each held for a random while and then undone. Kinds: SIGKILL of the daemon
// (preferably while a job runs) and its restart as the test helpers start it; the registry stopped and started
// again; the registry stalled (its proxy accepts and never answers); the store's file system filled up and
// freed; libostree's sysroot lock held by another process, exactly as libglnx takes it.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Rng, type SoakConfig, sleep } from './config.js';
import { FAST, type Fixture } from './fixture.js';
import type { Recorder } from './record.js';
import { now } from './transports.js';

const run = promisify(execFile);

export const FAULT_KINDS = [
  'daemon-kill',
  'registry-restart',
  'registry-stall',
  'disk-full',
  'sysroot-lock',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** libglnx's glnx_make_lock_file: an OFD write lock on the whole file, waited for; held until killed. */
const GLNX_HOLDER = `import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.fcntl(fd, fcntl.F_OFD_SETLKW, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
print('locked', flush=True)
time.sleep(3600)`;

export class FaultInjector {
  private deck: FaultKind[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly cfg: SoakConfig,
    private readonly fx: Fixture,
    private readonly recorder: Recorder,
    /** Whether the daemon has a job running now (kills aim at one). */
    private readonly jobRunning: () => Promise<boolean>,
  ) {}

  /** The next kind: a fresh shuffled round of every kind when the last one is used up. */
  nextKind(): FaultKind {
    if (this.deck.length === 0) this.deck = this.rng.shuffle(FAULT_KINDS);
    return this.deck.shift()!;
  }

  /** Injects one fault and undoes it; resolves once the system is back to normal (daemon serving). */
  async inject(kind: FaultKind): Promise<void> {
    const started = now();
    const detail = await this[kind]();
    this.recorder.fault(kind, started, detail);
  }

  private async 'daemon-kill'(): Promise<string> {
    // Aim at a running job (a pull mid-transfer, a collection), but never wait long for one.
    const until = now() + 3_000;
    let busy = false;
    while (!busy && now() < until) {
      busy = await this.jobRunning().catch(() => false);
      if (!busy) await sleep(100);
    }
    await sleep(this.rng.int(0, 400));
    const pid = this.fx.daemon.proc.pid;
    const w = this.recorder.openWindow('daemon-kill');
    await this.fx.killDaemon();
    const down = this.rng.int(0, 1_000);
    await sleep(down); // calls meanwhile find no one: ServiceUnknown, a refused connection
    const t = now();
    try {
      await this.fx.startAgain();
    } finally {
      this.recorder.closeWindow(w);
    }
    const restartMs = now() - t;
    return `pid ${pid}${busy ? ' while a job ran' : ' with no job running'}; down ${down} ms, restart took ${restartMs.toFixed(0)} ms`;
  }

  private async 'registry-restart'(): Promise<string> {
    const down = this.rng.between(this.cfg.registryDownMs);
    const w = this.recorder.openWindow('registry-restart');
    try {
      await this.fx.registry.stop();
      await sleep(down);
      await this.fx.registry.start();
    } finally {
      this.recorder.closeWindow(w);
    }
    return `down ${down} ms`;
  }

  private async 'registry-stall'(): Promise<string> {
    const hold = this.rng.between(this.cfg.faultHoldMs);
    const w = this.recorder.openWindow('registry-stall');
    this.fx.proxy.setRate(0);
    try {
      await sleep(hold);
    } finally {
      this.fx.proxy.setRate(FAST);
      this.recorder.closeWindow(w);
    }
    return `stalled ${hold} ms`;
  }

  private async 'disk-full'(): Promise<string> {
    const hold = this.rng.between(this.cfg.faultHoldMs);
    const fill = [join(this.fx.sysroot, 'soak-fill'), join(this.fx.sysroot, 'soak-fill-rest')];
    const free = () => {
      const s = statfsSync(this.fx.sysroot);
      return Number(s.bavail) * Number(s.bsize);
    };
    const before = free();
    const w = this.recorder.openWindow('disk-full');
    try {
      // Written until ENOSPC (1 MiB blocks, then 4 KiB ones for the rest): full whatever the traffic writes meanwhile.
      for (const [file, bs] of [
        [fill[0]!, '1M'],
        [fill[1]!, '4k'],
      ] as const) {
        await run('dd', ['if=/dev/zero', `of=${file}`, `bs=${bs}`, 'status=none']).catch(() => undefined);
      }
      const left = free();
      await sleep(hold);
      return `filled ${(before / 2 ** 20).toFixed(1)} MiB (${left} bytes left) for ${hold} ms`;
    } finally {
      for (const file of fill) rmSync(file, { force: true });
      this.recorder.closeWindow(w);
    }
  }

  private async 'sysroot-lock'(): Promise<string> {
    const hold = this.rng.between(this.cfg.faultHoldMs);
    const t = now();
    const w = this.recorder.openWindow('sysroot-lock');
    const py: ChildProcess = spawn('python3', ['-c', GLNX_HOLDER, join(this.fx.sysroot, 'ostree/lock')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((r) => py.once('exit', () => r()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the lock holder got no lock in 60 s')), 60_000);
        py.stdout?.on('data', (d: Buffer) => {
          if (!d.toString().includes('locked')) return;
          clearTimeout(timer);
          resolve();
        });
        py.once('exit', (code) => reject(new Error(`python3 exited ${code}`)));
      });
      const waited = now() - t;
      await sleep(hold);
      return `held ${hold} ms (waited ${waited.toFixed(0)} ms for it)`;
    } finally {
      py.kill('SIGKILL');
      await exited;
      this.recorder.closeWindow(w);
    }
  }
}
