// Asks the real polkitd (org.freedesktop.PolicyKit1 on the system bus) whether a bus client may do an action.
// One low-level call per check: no proxy object, so no match rules leak (dbus-next PR #110).

import dbus from 'dbus-next';
import { createError } from '../errors.js';
import type { ActionId } from './actions.js';

const { Message, Variant } = dbus;

/** polkit CheckAuthorizationFlags.AllowUserInteraction */
const ALLOW_USER_INTERACTION = 1;
/**
 * Checks in flight at once. The bus caps the replies one connection may await (and polkitd the checks one
 * caller may have pending): under a flood, unbounded checks fail and would deny legitimate callers.
 */
const MAX_CONCURRENT_CHECKS = 16;

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
  constructor(private readonly bus: dbus.MessageBus) {}

  async authorize(req: AuthorizationRequest): Promise<void> {
    this.pending += 1;
    let reply: dbus.Message | null;
    if (this.running >= MAX_CONCURRENT_CHECKS) await new Promise<void>((r) => this.waiting.push(r));
    this.running += 1;
    try {
      reply = await this.bus.call(
        new Message({
          destination: 'org.freedesktop.PolicyKit1',
          path: '/org/freedesktop/PolicyKit1/Authority',
          interface: 'org.freedesktop.PolicyKit1.Authority',
          member: 'CheckAuthorization',
          signature: '(sa{sv})sa{ss}us',
          body: [
            ['system-bus-name', { name: new Variant('s', req.sender) }],
            req.action,
            req.details ?? {},
            req.interactive ? ALLOW_USER_INTERACTION : 0,
            '',
          ],
        }),
      );
    } catch (err) {
      // No polkit, or it failed: deny. Never allow by accident.
      throw createError('AccessDenied', `authorization for ${req.action} could not be checked`, {}, err);
    } finally {
      this.pending -= 1;
      this.running -= 1;
      this.waiting.shift()?.();
    }
    const [isAuthorized, isChallenge] = (reply?.body[0] ?? [false, false]) as [boolean, boolean];
    if (isAuthorized) return;
    if (isChallenge && !req.interactive) {
      throw createError(
        'InteractiveAuthorizationRequired',
        `${req.action} needs authentication; allow interactive authorization (e.g. busctl --allow-interactive-authorization=yes)`,
      );
    }
    throw createError('AccessDenied', `not authorized for ${req.action}`);
  }
}
