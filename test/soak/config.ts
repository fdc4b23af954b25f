// The soak's knobs (duration, seed, client counts, fault pacing, limits) and its seeded random numbers. Every
// random choice of the soak (which call, which image, which fault, how long) comes from an Rng forked from the
// one seed, so a run's sequence of choices per client and per injector is reproducible.

import { join } from 'node:path';
import { REPO } from '../helpers/system-bus.js';

export interface SoakConfig {
  /** How long traffic runs; the fault loop also goes on until every fault kind was injected once. */
  durationMs: number;
  seed: number;
  /** Simulated clients per transport and user (each holds one connection, calls one at a time). */
  clients: { rootDbus: number; rootVarlink: number; nobodyDbus: number; nobodyVarlink: number };
  /** Pause between a client's calls, [min, max] ms. */
  thinkMs: [number, number];
  /** Pause between the end of one fault's checkpoint and the next fault, [min, max] ms. */
  faultGapMs: [number, number];
  /** How long a registry stall, a full disk or a held sysroot lock lasts, [min, max] ms. */
  faultHoldMs: [number, number];
  /** How long the registry stays down when restarted, [min, max] ms. */
  registryDownMs: [number, number];
  /**
   * A read's limit: polkit checks are canceled after 25 s (README, "Authorization"), reads are answered from
   * the daemon's view; 30 s leaves room for a loaded machine.
   */
  readDeadlineMs: number;
  /**
   * A blocking job call's limit: it replies when its job ends, and every job here is bounded by the daemon's
   * options below (stall timeout × attempts + backoff, lock timeout) times the few jobs queued ahead of it.
   */
  jobDeadlineMs: number;
  /** How long a checkpoint waits for the job queue to empty (every job ended). */
  drainTimeoutMs: number;
  /** Bounds on the daemon process checked at every checkpoint. */
  rssLimitMiB: number;
  fdLimit: number;
  /** RSS and open fds are sampled this often. */
  sampleEveryMs: number;
  /** Size of the tmpfs holding the sysroot (and the store). */
  storeFsMiB: number;
  /** The daemon's own limits, passed on its command line. */
  daemon: { stallTimeoutS: number; lockTimeoutS: number; pullRetries: number };
  /** Daemon logs and the raw result go here. */
  outDir: string;
}

export const DEFAULT_CONFIG: SoakConfig = {
  durationMs: 20 * 60_000,
  seed: 20261207,
  clients: { rootDbus: 2, rootVarlink: 2, nobodyDbus: 1, nobodyVarlink: 1 },
  thinkMs: [0, 250],
  faultGapMs: [4_000, 15_000],
  faultHoldMs: [2_000, 8_000],
  registryDownMs: [500, 3_000],
  readDeadlineMs: 30_000,
  jobDeadlineMs: 120_000,
  drainTimeoutMs: 120_000,
  rssLimitMiB: 160,
  fdLimit: 128,
  sampleEveryMs: 1_000,
  storeFsMiB: 96,
  daemon: { stallTimeoutS: 5, lockTimeoutS: 6, pullRetries: 2 },
  outDir: join(REPO, '.cache/reports/soak'),
};

/** The defaults with SOAK_MINUTES, SOAK_SEED, SOAK_OUT taken from the environment. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SoakConfig {
  const minutes = env.SOAK_MINUTES === undefined ? 20 : Number(env.SOAK_MINUTES);
  const seed = env.SOAK_SEED === undefined ? DEFAULT_CONFIG.seed : Number(env.SOAK_SEED);
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`SOAK_MINUTES=${env.SOAK_MINUTES}: not > 0`);
  if (!Number.isSafeInteger(seed)) throw new Error(`SOAK_SEED=${env.SOAK_SEED}: not an integer`);
  return {
    ...DEFAULT_CONFIG,
    durationMs: minutes * 60_000,
    seed,
    outDir: env.SOAK_OUT ?? DEFAULT_CONFIG.outDir,
  };
}

/** mulberry32: small, fast, good enough to pick calls and faults; forks give independent streams. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A value in a [min, max] range. */
  between([lo, hi]: readonly [number, number]): number {
    return this.int(Math.round(lo), Math.round(hi));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of the entries, with probability proportional to its weight. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((a, [, w]) => a + w, 0);
    let r = this.next() * total;
    for (const [v, w] of entries) {
      r -= w;
      if (r < 0) return v;
    }
    return entries.at(-1)![0];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** An independent stream, seeded from this one. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 2 ** 32));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
