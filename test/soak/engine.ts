// The soak: the fixture, the keep images pulled, a first checkpoint; then the clients' traffic while the
// injector injects one fault after another (each followed by a checkpoint) until the duration is over and
// every fault kind was injected at least once; then a last checkpoint. The result holds every count, latency,
// fault, check and failure, and the RSS/fd samples; report.ts turns it into Markdown and an SVG.

import { Rng, type SoakConfig, sleep } from './config.js';
import { FAULT_KINDS, FaultInjector, type FaultKind } from './faults.js';
import { startFixture } from './fixture.js';
import { Invariants, type Sample } from './invariants.js';
import type { TrafficState } from './operations.js';
import { Recorder } from './record.js';
import { Traffic } from './traffic.js';
import { DbusCaller, now } from './transports.js';

export interface SoakResult {
  cfg: SoakConfig;
  startedAt: Date;
  setupMs: number;
  /** How long the traffic ran. */
  trafficMs: number;
  recorder: Recorder;
  samples: Sample[];
  daemonStarts: number;
  /** Daemons that exited without being killed (each is also a failure). */
  crashes: number;
  faultCounts: Record<FaultKind, number>;
  varlink: { connects: number; idleRetries: number };
  nobodyAgentStarts: number;
  heldKeep: string[];
}

export async function runSoak(
  cfg: SoakConfig,
  log: (line: string) => void = console.log,
): Promise<SoakResult> {
  const startedAt = new Date();
  const t0 = now();
  const rng = new Rng(cfg.seed);
  const fx = await startFixture(cfg, log);
  const setupMs = now() - t0;
  log(
    `soak: stack up in ${(setupMs / 1000).toFixed(1)} s (daemon pid ${fx.daemon.proc.pid}, store ${fx.storePath})`,
  );
  const recorder = new Recorder();
  const state: TrafficState = {
    images: fx.images,
    held: new Set(),
    jobIds: [],
    deadlines: { read: cfg.readDeadlineMs, job: cfg.jobDeadlineMs },
  };
  const inv = new Invariants(cfg, fx, state, recorder);
  let crashes = 0;
  let restarting: Promise<void> | undefined;
  fx.onCrash((exit, tail) => {
    crashes += 1;
    recorder.failure('daemon exited without being killed', `exit ${exit}; last log lines: ${tail}`);
    restarting ??= fx
      .startAgain()
      .catch((e: unknown) => recorder.failure('daemon restart after a crash', String(e)))
      .finally(() => {
        restarting = undefined;
      });
  });
  let traffic: Traffic | undefined;
  try {
    // Root holds the keep images from the start: one bound by the deployment, one its host image.
    const setupBus = new DbusCaller(fx.bus.address);
    for (const ref of fx.images.keep) {
      const o = await setupBus.call(
        { t: 'dbus', member: 'Pull', signature: 'ss', body: [ref, 'missing'] },
        cfg.jobDeadlineMs,
      );
      if (o.error === undefined) state.held.add(ref);
      else recorder.failure(`setup pull of ${ref}`, `${o.error}: ${o.text ?? ''}`);
    }
    setupBus.close();
    inv.baseline();
    inv.startSampling();
    await inv.checkpoint('start');

    traffic = new Traffic(cfg, fx, state, recorder, rng.fork());
    const faults = new FaultInjector(rng.fork(), cfg, fx, recorder, () => inv.jobRunning());
    const gaps = rng.fork();
    const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
    const trafficStart = now();
    const end = trafficStart + cfg.durationMs;
    traffic.start();
    log(`soak: traffic and faults for ${(cfg.durationMs / 60_000).toFixed(1)} min (seed ${cfg.seed})`);
    let lastReport = now();
    while (now() < end || FAULT_KINDS.some((k) => counts[k] === 0)) {
      const gap = gaps.between(cfg.faultGapMs);
      await sleep(now() < end ? Math.min(gap, Math.max(0, end - now())) : Math.min(gap, 1_000));
      if (now() >= end && FAULT_KINDS.every((k) => counts[k] > 0)) break;
      const kind = faults.nextKind();
      try {
        await faults.inject(kind);
        counts[kind] += 1;
      } catch (e) {
        recorder.failure(`fault ${kind} could not be injected`, String(e));
        // A daemon that did not come back: one more start, or the rest of the run would mean nothing.
        const { exitCode, signalCode } = fx.daemon.proc;
        if (exitCode !== null || signalCode !== null) await fx.startAgain();
      }
      if (restarting) await restarting;
      await traffic.pause();
      await inv.checkpoint(`after ${kind}`);
      traffic.resume();
      if (now() - lastReport > 60_000 || cfg.durationMs <= 120_000) {
        lastReport = now();
        const t = recorder.totals();
        log(
          `soak: ${(recorder.rel() / 1000).toFixed(0)} s: ${recorder.faults.length} faults, calls ok ${t.ok} error ${t.error} refused ${t.refused} interrupted ${t.interrupted} failed ${t.failed}; ${recorder.failureCount} failures`,
        );
      }
    }
    await traffic.stop();
    const trafficMs = now() - trafficStart;
    if (restarting) await restarting;
    await inv.checkpoint('end');
    inv.close();
    return {
      cfg,
      startedAt,
      setupMs,
      trafficMs,
      recorder,
      samples: inv.samples,
      daemonStarts: fx.starts,
      crashes,
      faultCounts: counts,
      varlink: traffic.reconnects(),
      nobodyAgentStarts: traffic.agent.starts,
      heldKeep: [...state.held],
    };
  } finally {
    await traffic?.stop();
    inv.close();
    await fx.stop();
  }
}
