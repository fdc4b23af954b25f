// How an answer is judged. Success is right (except for nobody's writes, which polkit must refuse, and for
// malformed or oversized calls, which must be refused as invalid). A refusal is right for nobody only. A
// named error is right when the request itself explains it (NotFound for an absent image, InvalidReference
// for a bad one) or when a fault of the kind that causes it overlapped the call: PullFailed while the
// registry was down or stalled or the disk full, NoSpace and StorageFailure on the full disk, SysrootLocked
// while the lock was held. Any other answer is a failure, with a stack trace in a message being one too.

import type { FaultKind } from './faults.js';
import type { Outcome } from './transports.js';

export type CallKind = 'read' | 'pull' | 'remove' | 'prune' | 'gc' | 'cancel' | 'malformed' | 'oversized';
export type Transport = 'dbus' | 'varlink';
export type Uid = 'root' | 'nobody';

export interface Judgement {
  verdict: 'ok' | 'error' | 'refused' | 'failed';
  why?: string;
  /** A known daemon bug (KNOWN_BUGS) this answer is an instance of. */
  known?: string;
}

/** Which faults happened while the call was in flight (or just before: effects linger for a moment). */
export type During = (kinds: readonly FaultKind[], o: Outcome) => boolean;

/** Error name (without the transport's storage prefix, or the whole name) → always right, or the faults that explain it. */
export type Allowed = Readonly<Record<string, 'always' | readonly FaultKind[]>>;

/**
 * Daemon bugs the soak found and reported: counted and listed apart, not as failures, so the soak keeps
 * guarding everything else meanwhile. Delete an entry with its fix; the soak then fails if it comes back.
 */
export const KNOWN_BUGS: readonly {
  id: string;
  kind: CallKind;
  error: string;
  text: RegExp;
  what: string;
}[] = [];

const STORAGE_ERROR = { dbus: 'org.bootc.Storage.Error.', varlink: 'org.bootc.Storage.' } as const;
const REFUSED = new Set([
  'org.freedesktop.DBus.Error.AccessDenied',
  'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired',
  'org.varlink.service.PermissionDenied',
]);
/** A stack frame in an error message: no stack trace may reach a caller. */
const STACK_FRAME = /\n\s+at |\bat [^\s]+ \([^)]*:\d+:\d+\)/;

export interface JudgeOptions {
  kind: CallKind;
  allowed?: Allowed;
  /** nobody's writes: polkit must refuse them. */
  mustRefuse?: boolean;
  /** Success would be wrong (malformed or oversized input): why. */
  mustFail?: string;
}

export type Judge = (o: Outcome, during: During) => Judgement;

export function judgeWith(t: Transport, uid: Uid, opts: JudgeOptions): Judge {
  return (o, during) => {
    if (o.text && STACK_FRAME.test(o.text)) return { verdict: 'failed', why: `stack trace in ${o.error}` };
    if (o.error === undefined) {
      if (opts.mustRefuse) return { verdict: 'failed', why: 'nobody was not refused' };
      if (opts.mustFail) return { verdict: 'failed', why: opts.mustFail };
      return { verdict: 'ok' };
    }
    if (REFUSED.has(o.error)) {
      return uid === 'nobody'
        ? { verdict: 'refused' }
        : { verdict: 'failed', why: `root refused: ${o.error}` };
    }
    const prefix = STORAGE_ERROR[t];
    const name = o.error.startsWith(prefix) ? o.error.slice(prefix.length) : o.error;
    const text = (o.text ?? '').slice(0, 400);
    const bug = KNOWN_BUGS.find((b) => b.kind === opts.kind && b.error === name && b.text.test(o.text ?? ''));
    if (bug) return { verdict: 'error', known: bug.id };
    const allowed = opts.allowed?.[name];
    if (allowed === 'always') return { verdict: 'error' };
    if (allowed === undefined) return { verdict: 'failed', why: `unexpected ${o.error}: ${text}` };
    if (during(allowed, o)) return { verdict: 'error' };
    return { verdict: 'failed', why: `${name} with no ${allowed.join('/')} fault to explain it: ${text}` };
  };
}

/** What each kind of root job may fail with, and which faults explain it. */
export const JOB_ERRORS: Record<'pull' | 'remove' | 'prune' | 'gc' | 'cancel', Allowed> = {
  pull: {
    PullFailed: ['registry-restart', 'registry-stall', 'disk-full'],
    NoSpace: ['disk-full'],
    StorageFailure: ['disk-full'],
    TimedOut: ['registry-stall'],
  },
  remove: { NotFound: 'always', StorageFailure: ['disk-full'] },
  prune: { StorageFailure: ['disk-full'] },
  gc: { SysrootLocked: ['sysroot-lock'], StorageFailure: ['disk-full'] },
  cancel: { NotFound: 'always' },
};
