// Asks the real polkitd (org.freedesktop.PolicyKit1 on the system bus) whether a bus client may do an action.
// One low-level call per check: no proxy object, so no match rules leak (dbus-next PR #110).
//
// Limits are per user (the uid the bus daemon vouches for), never per bus name: a user can open any number of
// connections, but not become another user. Root is never counted nor queued; polkit always authorizes it.

import dbus from 'dbus-next';
import { createError } from '../errors.js';
import { ACTION_READ, type ActionId } from './actions.js';
import { callerUid } from './caller-uid.js';
import { FairSlots } from './fair-slots.js';
import type { PeerProcess } from './peer-cred.js';

const { Message, Variant } = dbus;

/** polkit CheckAuthorizationFlags.AllowUserInteraction */
const ALLOW_USER_INTERACTION = 1;

/**
 * Why these numbers: the system bus lets one connection await at most 128 replies (dbus-daemon's
 * max_replies_per_connection), and a check that fails for that reason denies a legitimate caller. Quick
 * checks (16) plus dialogs (64) stay well below it, with room for the daemon's other calls.
 */
export const POLKIT_LIMITS = {
  /**
   * Non-interactive checks (milliseconds each) in flight at once, shared fairly (fair-slots.ts): each uid
   * waits in its own queue, a free slot goes to the waiting uid holding the fewest, one uid holds at most 4 of
   * the 16 and may have 64 waiting (more is Busy for that uid alone). Another user's check therefore starts at
   * once, or as soon as one slot frees.
   */
  checks: { total: 16, perUid: 4, queuedPerUid: 64 },
  /**
   * Interactive checks (a polkit agent may show a password dialog for minutes) one uid may have pending; more
   * is Busy for that uid. They hold no quick-check slot.
   */
  dialogsPerUid: 4,
  /** Dialogs of all users together: a safety net for the bus's reply limit, 16 users' worth. */
  dialogsTotal: 64,
} as const;

/** A check that needs no person answers in milliseconds; one waiting for a password gets five minutes. */
const CHECK_TIMEOUT_MS = 25_000;
const INTERACTIVE_CHECK_TIMEOUT_MS = 5 * 60_000;
const AUTHORITY = {
  destination: 'org.freedesktop.PolicyKit1',
  path: '/org/freedesktop/PolicyKit1/Authority',
  interface: 'org.freedesktop.PolicyKit1.Authority',
};

/** One authorization question, as a transport asks it. */
export interface AuthorizationRequest {
  /** The caller's unique bus name (the polkit subject), for D-Bus callers. */
  sender?: string;
  /** A Varlink peer (polkit's unix-process subject), from its socket's credentials. */
  process?: PeerProcess;
  action: ActionId;
  /** Shown by polkit agents, e.g. `{image: 'quay.io/x:y'}` for `$(image)` in the policy's message. */
  details?: Record<string, string>;
  /** The caller set ALLOW_INTERACTIVE_AUTHORIZATION on its message (ignored for the read action). */
  interactive: boolean;
}

/** What the transports need from an authority; a fake one stands in for it in unit tests. */
export interface Authority {
  /** Resolves when authorized; rejects AccessDenied, InteractiveAuthorizationRequired or Busy. */
  authorize(req: AuthorizationRequest): Promise<void>;
  /** Checks in flight (the daemon does not idle-exit while one is pending). */
  readonly pending: number;
}

/** The polkit client the daemon uses: per-uid limits and fairness, time limits, fail closed. */
export class PolkitAuthority implements Authority {
  pending = 0;
  private readonly quick = new FairSlots(POLKIT_LIMITS.checks);
  /** Pending interactive checks, per uid and in all. */
  private readonly dialogs = new Map<number, number>();
  private dialogsTotal = 0;
  private nextCancellationId = 1;
  constructor(private readonly bus: dbus.MessageBus) {}

  async authorize(req: AuthorizationRequest): Promise<void> {
    this.pending += 1;
    try {
      const uid = req.process ? req.process.uid : await callerUid(this.bus, req.sender ?? '');
      // polkitd answers yes for uid 0 before it reads any rule (we never pass AlwaysCheck): asking would only
      // let root wait behind other users' checks and spend a reply slot.
      if (uid === 0) return;
      // The read action is allowed to everyone by default; nobody should be shown a dialog for it.
      const interactive = req.interactive && req.action !== ACTION_READ;
      const release = interactive ? this.holdDialog(uid) : await this.quick.acquire(uid);
      let reply: dbus.Message | null;
      try {
        reply = await this.check(req, interactive);
      } finally {
        release();
      }
      const [isAuthorized, isChallenge] = (reply?.body[0] ?? [false, false]) as [boolean, boolean];
      if (isAuthorized) return;
      if (isChallenge && req.action === ACTION_READ) {
        throw createError(
          'AccessDenied',
          `${req.action} needs authentication, which is never asked for reads`,
        );
      }
      if (isChallenge && !interactive) {
        throw createError(
          'InteractiveAuthorizationRequired',
          `${req.action} needs authentication; allow interactive authorization (e.g. busctl --allow-interactive-authorization=yes)`,
        );
      }
      throw createError('AccessDenied', `not authorized for ${req.action}`);
    } finally {
      this.pending -= 1;
    }
  }

  /** Counts one pending dialog for `uid`, or Busy past its own cap (or the safety net); returns the release. */
  private holdDialog(uid: number): () => void {
    const mine = this.dialogs.get(uid) ?? 0;
    if (mine >= POLKIT_LIMITS.dialogsPerUid || this.dialogsTotal >= POLKIT_LIMITS.dialogsTotal) {
      throw createError('Busy', 'too many authorization dialogs are pending; try again later');
    }
    this.dialogs.set(uid, mine + 1);
    this.dialogsTotal += 1;
    return () => {
      this.dialogsTotal -= 1;
      const left = (this.dialogs.get(uid) ?? 1) - 1;
      if (left > 0) this.dialogs.set(uid, left);
      else this.dialogs.delete(uid);
    };
  }

  /** One CheckAuthorization call, abandoned (and canceled at polkitd) after its time limit: fail closed. */
  private async check(req: AuthorizationRequest, interactive: boolean): Promise<dbus.Message | null> {
    const cancellationId = `bootc-storaged-${process.pid}-${this.nextCancellationId++}`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => {
          void this.bus
            .call(
              new Message({
                ...AUTHORITY,
                member: 'CancelCheckAuthorization',
                signature: 's',
                body: [cancellationId],
              }),
            )
            .catch(() => undefined);
          reject(createError('AccessDenied', `authorization for ${req.action} was not given in time`));
        },
        interactive ? INTERACTIVE_CHECK_TIMEOUT_MS : CHECK_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([
        this.bus
          .call(
            new Message({
              ...AUTHORITY,
              member: 'CheckAuthorization',
              signature: '(sa{sv})sa{ss}us',
              body: [
                subjectOf(req),
                req.action,
                req.details ?? {},
                interactive ? ALLOW_USER_INTERACTION : 0,
                cancellationId,
              ],
            }),
          )
          .catch((err: unknown) => {
            // No polkit, or it failed: deny. Never allow by accident.
            throw createError(
              'AccessDenied',
              `authorization for ${req.action} could not be checked`,
              {},
              err,
            );
          }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** polkit's subject for a request: the bus name of a D-Bus caller, or a Varlink peer's process. */
function subjectOf(req: AuthorizationRequest): [string, Record<string, dbus.Variant>] {
  if (req.process) {
    return [
      'unix-process',
      {
        pid: new Variant('u', req.process.pid),
        'start-time': new Variant('t', req.process.startTime),
        uid: new Variant('i', req.process.uid),
      },
    ];
  }
  return ['system-bus-name', { name: new Variant('s', req.sender ?? '') }];
}
