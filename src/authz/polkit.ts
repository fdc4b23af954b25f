// Asks the real polkitd (org.freedesktop.PolicyKit1 on the system bus) whether a bus client may do an action.
// One low-level call per check: no proxy object, so no match rules leak (dbus-next PR #110).

import dbus from 'dbus-next';
import { createError } from '../errors.js';
import type { ActionId } from './actions.js';

const { Message, Variant } = dbus;

/** polkit CheckAuthorizationFlags.AllowUserInteraction */
const ALLOW_USER_INTERACTION = 1;
/**
 * Non-interactive checks in flight at once. The bus caps the replies one connection may await (and polkitd
 * the checks one caller may have pending): under a flood, unbounded checks fail and would deny legitimate
 * callers. Interactive checks wait for a person, so they never hold one of these slots.
 */
const MAX_CONCURRENT_CHECKS = 16;
/**
 * Interactive checks (a polkit agent may be showing a password dialog for minutes) one caller, and all
 * callers together, may have pending; more is Busy. Without this, one user leaving dialogs open would hold
 * the daemon's pending replies to polkitd and starve everyone else.
 */
const MAX_INTERACTIVE_PER_CALLER = 4;
const MAX_INTERACTIVE_TOTAL = 64;
/** A check that needs no person answers in milliseconds; one waiting for a password gets five minutes. */
const CHECK_TIMEOUT_MS = 25_000;
const INTERACTIVE_CHECK_TIMEOUT_MS = 5 * 60_000;
const AUTHORITY = {
  destination: 'org.freedesktop.PolicyKit1',
  path: '/org/freedesktop/PolicyKit1/Authority',
  interface: 'org.freedesktop.PolicyKit1.Authority',
};

export interface AuthorizationRequest {
  /** The caller's unique bus name (the polkit subject). */
  sender: string;
  action: ActionId;
  /** Shown by polkit agents, e.g. `{image: 'quay.io/x:y'}` for `$(image)` in the policy's message. */
  details?: Record<string, string>;
  /** The caller set ALLOW_INTERACTIVE_AUTHORIZATION on its message. */
  interactive: boolean;
}

export interface Authority {
  /** Resolves when authorized; rejects AccessDenied or InteractiveAuthorizationRequired. */
  authorize(req: AuthorizationRequest): Promise<void>;
  /** Checks in flight (the daemon does not idle-exit while one is pending). */
  readonly pending: number;
}

export class PolkitAuthority implements Authority {
  pending = 0;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Pending interactive checks, per caller and in all. */
  private readonly perCaller = new Map<string, number>();
  private interactive = 0;
  private nextCancellationId = 1;
  constructor(private readonly bus: dbus.MessageBus) {}

  async authorize(req: AuthorizationRequest): Promise<void> {
    const pooled = !req.interactive;
    const mine = this.perCaller.get(req.sender) ?? 0;
    if (!pooled && (mine >= MAX_INTERACTIVE_PER_CALLER || this.interactive >= MAX_INTERACTIVE_TOTAL)) {
      throw createError('Busy', 'too many authorization dialogs are pending; try again later');
    }
    if (!pooled) {
      this.perCaller.set(req.sender, mine + 1);
      this.interactive += 1;
    }
    this.pending += 1;
    try {
      if (pooled) {
        if (this.running >= MAX_CONCURRENT_CHECKS) await new Promise<void>((r) => this.waiting.push(r));
        this.running += 1;
      }
      const reply = await this.check(req).finally(() => {
        if (pooled) {
          this.running -= 1;
          this.waiting.shift()?.();
        }
      });
      const [isAuthorized, isChallenge] = (reply?.body[0] ?? [false, false]) as [boolean, boolean];
      if (isAuthorized) return;
      if (isChallenge && !req.interactive) {
        throw createError(
          'InteractiveAuthorizationRequired',
          `${req.action} needs authentication; allow interactive authorization (e.g. busctl --allow-interactive-authorization=yes)`,
        );
      }
      throw createError('AccessDenied', `not authorized for ${req.action}`);
    } finally {
      this.pending -= 1;
      if (!pooled) {
        this.interactive -= 1;
        const left = (this.perCaller.get(req.sender) ?? 1) - 1;
        if (left > 0) this.perCaller.set(req.sender, left);
        else this.perCaller.delete(req.sender);
      }
    }
  }

  /** One CheckAuthorization call, abandoned (and canceled at polkitd) after its time limit: fail closed. */
  private async check(req: AuthorizationRequest): Promise<dbus.Message | null> {
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
        req.interactive ? INTERACTIVE_CHECK_TIMEOUT_MS : CHECK_TIMEOUT_MS,
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
                ['system-bus-name', { name: new Variant('s', req.sender) }],
                req.action,
                req.details ?? {},
                req.interactive ? ALLOW_USER_INTERACTION : 0,
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
