// Everything the soak observed: each call's verdict (counted per kind, transport and user), the windows in
// which the daemon was being killed and restarted (a lost connection inside one is "interrupted", outside
// one it is a failure), latencies, faults, invariant checks and every failure with its details.

import type { FaultKind } from './faults.js';
import type { CallKind, Transport, Uid } from './judge.js';
import type { Op } from './operations.js';
import { now, type Outcome } from './transports.js';

export type Verdict = 'ok' | 'error' | 'refused' | 'interrupted' | 'failed';
export const VERDICTS: readonly Verdict[] = ['ok', 'error', 'refused', 'interrupted', 'failed'];

export interface FaultRecord {
  kind: string;
  /** ms since the soak started */
  at: number;
  ms: number;
  detail: string;
}

export interface CheckRecord {
  at: number;
  /** The checkpoint: `start`, `after <fault>`, `end`. */
  label: string;
  check: string;
  ok: boolean;
  detail?: string;
}

export interface FailureRecord {
  at: number;
  what: string;
  detail: string;
}

/** Errors that mean the connection or the service went away, not that the daemon answered. */
const LOST = new Set([
  'org.freedesktop.DBus.Error.NoReply',
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
  'org.freedesktop.DBus.Error.Disconnected',
]);
const lost = (o: Outcome) => o.error !== undefined && (o.error.startsWith('transport:') || LOST.has(o.error));

/** How long after a fault was undone its effects may still explain an answer (a restarted daemon's reconnects). */
const WINDOW_GRACE_MS = 2_000;
/** At most this many failures are kept with details (all are counted). */
const MAX_DETAILED = 200;

/** While a fault is in effect: from its injection to a little after it was undone. */
export interface FaultWindow {
  kind: FaultKind;
  from: number;
  to?: number;
}

export class Recorder {
  readonly t0 = now();
  private readonly windows: FaultWindow[] = [];
  /** `kind|transport|uid` → verdict → count */
  readonly counts = new Map<string, Record<Verdict, number>>();
  /** `kind name|transport|uid` → error name → count (answered errors and refusals, for the report). */
  readonly errorNames = new Map<string, Map<string, number>>();
  /** `kind name` → calls made (every verdict). */
  readonly byName = new Map<string, number>();
  /** KNOWN_BUGS hit: id → count and the first answer. */
  readonly knownBugs = new Map<string, { count: number; example: string }>();
  /** Latency series (ms) of answered calls: `read|dbus`, `pull|varlink`, … */
  readonly latencies = new Map<string, number[]>();
  readonly faults: FaultRecord[] = [];
  readonly checks: CheckRecord[] = [];
  readonly failures: FailureRecord[] = [];
  failureCount = 0;

  /** ms since the start */
  rel(t = now()): number {
    return t - this.t0;
  }

  openWindow(kind: FaultKind): FaultWindow {
    const w: FaultWindow = { kind, from: now() };
    this.windows.push(w);
    return w;
  }

  closeWindow(w: FaultWindow): void {
    w.to = now() + WINDOW_GRACE_MS;
  }

  /** Whether a fault of one of these kinds overlapped the call. */
  readonly during = (kinds: readonly FaultKind[], o: Outcome): boolean =>
    this.windows.some(
      (w) => kinds.includes(w.kind) && o.start <= (w.to ?? Number.POSITIVE_INFINITY) && o.end >= w.from,
    );

  /** Judges and counts one call. */
  record(client: string, uid: Uid, t: Transport, op: Op, o: Outcome): Verdict {
    let j: { verdict: Verdict; why?: string; known?: string };
    if (o.timedOut) j = { verdict: 'failed', why: `no answer within ${op.deadlineMs} ms (a hang)` };
    else if (lost(o))
      j = this.during(['daemon-kill'], o)
        ? { verdict: 'interrupted' }
        : { verdict: 'failed', why: `${o.error} outside a kill window: ${o.text ?? ''}` };
    else j = op.judge(o, this.during);
    const verdict = j.verdict;
    const key = `${op.kind}|${t}|${uid}`;
    const c = this.counts.get(key) ?? { ok: 0, error: 0, refused: 0, interrupted: 0, failed: 0 };
    c[verdict] += 1;
    this.counts.set(key, c);
    if (verdict === 'ok') op.onOk?.();
    this.byName.set(`${op.kind} ${op.name}`, (this.byName.get(`${op.kind} ${op.name}`) ?? 0) + 1);
    if (o.error && (verdict === 'error' || verdict === 'refused')) {
      const ek = `${op.kind} ${op.name}|${t}|${uid}`;
      const m = this.errorNames.get(ek) ?? new Map<string, number>();
      const label = j.known ? `${o.error} (known bug ${j.known})` : o.error;
      m.set(label, (m.get(label) ?? 0) + 1);
      this.errorNames.set(ek, m);
    }
    if (j.known) {
      const k = this.knownBugs.get(j.known) ?? {
        count: 0,
        example: `${o.error}: ${(o.text ?? '').slice(0, 400)}`,
      };
      k.count += 1;
      this.knownBugs.set(j.known, k);
    }
    if ((verdict === 'ok' || verdict === 'refused') && op.group) {
      const series = this.latencies.get(op.group) ?? [];
      series.push(o.end - o.start);
      this.latencies.set(op.group, series);
    }
    if (verdict === 'failed') {
      this.failure(
        `call ${op.name} (${t}, ${uid}, ${client})`,
        `${j.why ?? o.error}; started at ${(this.rel(o.start) / 1000).toFixed(1)} s, took ${(o.end - o.start).toFixed(0)} ms`,
        o.start,
      );
    }
    return verdict;
  }

  fault(kind: string, started: number, detail: string): void {
    this.faults.push({ kind, at: this.rel(started), ms: now() - started, detail });
  }

  check(label: string, check: string, ok: boolean, detail?: string): void {
    this.checks.push({ at: this.rel(), label, check, ok, ...(detail ? { detail } : {}) });
    if (!ok) this.failure(`invariant ${check} (${label})`, detail ?? '');
  }

  failure(what: string, detail: string, at = now()): void {
    this.failureCount += 1;
    if (this.failures.length < MAX_DETAILED) this.failures.push({ at: this.rel(at), what, detail });
  }

  /** Calls per kind, every transport and user together. */
  kindTotals(): Map<CallKind, number> {
    const out = new Map<CallKind, number>();
    for (const [key, c] of this.counts) {
      const kind = key.split('|')[0] as CallKind;
      out.set(kind, (out.get(kind) ?? 0) + Object.values(c).reduce((a, b) => a + b, 0));
    }
    return out;
  }

  totals(): Record<Verdict, number> {
    const t: Record<Verdict, number> = { ok: 0, error: 0, refused: 0, interrupted: 0, failed: 0 };
    for (const c of this.counts.values()) for (const v of VERDICTS) t[v] += c[v];
    return t;
  }
}

/** The p-th percentile (nearest rank). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
