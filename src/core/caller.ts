// Who calls the core and what a call gives back: the two shapes both the operations table (contract.ts) and
// the core (storage-service.ts) need, in a module of their own so neither imports the other for them.

import type { ActionId } from '../authz/actions.js';
import type { Job } from './job-view.js';

/** Who called, as each transport knows it; the core asks it for the uid and for polkit checks it needs. */
export interface Caller {
  /** The caller's uid (the bus vouches for it, or SO_PEERCRED); looked up only when needed. */
  uid(): Promise<number>;
  /** Its requester key: a bus connection or a Varlink connection, so its cancel withdraws it alone. */
  readonly who: string;
  /** Asks polkit about this caller; throws AccessDenied / InteractiveAuthorizationRequired. */
  authorize(action: ActionId, details: Record<string, string>): Promise<void>;
}

/** What changed: the store's images (or their names), or the deployments (their roles, pending updates). */
export type ChangeKind = 'store' | 'deployments';

/** Each change as clients hear of it: the D-Bus signal's name, and the Varlink Watch event's. */
export const CHANGE_EVENT_NAMES: Readonly<Record<ChangeKind, string>> = {
  store: 'StoreChanged',
  deployments: 'DeploymentsChanged',
};

/** A feed of "look again" events (core/change-watch.ts): the kind of state that changed, nothing more. */
export interface ChangeFeed {
  on(event: 'change', listener: (kind: ChangeKind) => void): unknown;
  off(event: 'change', listener: (kind: ChangeKind) => void): unknown;
}

/**
 * What an operation's core call gives: a job to wait for (or to leave running), a value at once, or a feed
 * of changes to stream until the caller leaves (Watch).
 */
export type Outcome<R> = { job: Job<R> } | { value: R } | { feed: ChangeFeed };
