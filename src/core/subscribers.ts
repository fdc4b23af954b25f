// Who asked to hear of changes over D-Bus (Subscribe), so the daemon stays up for them: a D-Bus-activated
// daemon exits when idle, and changes made while it is not running are signalled to nobody. As
// org.freedesktop.systemd1.Manager.Subscribe does, a subscription lasts until Unsubscribe or until its bus
// name leaves the bus. Each uid may hold a few (every resource a caller can grow has a per-uid cap).

import { createError } from '../errors.js';
import type { StorageService } from './storage-service.js';

/** Subscriptions one uid may hold at once (root included: a runaway root script should not grow it either). */
const MAX_SUBSCRIPTIONS_PER_UID = 16;

class Subscribers {
  /** Subscriber (its requester key) → its uid. */
  private readonly byWho = new Map<string, number>();

  constructor(private readonly perUid = MAX_SUBSCRIPTIONS_PER_UID) {}

  /** Adds a subscriber (again is a no-op); Busy when its uid holds the most it may. */
  add(who: string, uid: number): void {
    if (this.byWho.has(who)) return;
    let held = 0;
    for (const u of this.byWho.values()) if (u === uid) held += 1;
    if (held >= this.perUid) {
      throw createError(
        'Busy',
        `uid ${uid} already holds ${held} subscriptions; unsubscribe one or close its connection`,
      );
    }
    this.byWho.set(who, uid);
  }

  /** Ends a subscription (Unsubscribe, or its caller left), if there is one. */
  remove(who: string): void {
    this.byWho.delete(who);
  }

  get size(): number {
    return this.byWho.size;
  }
}

const byService = new WeakMap<StorageService, Subscribers>();

/** The subscribers of a service (made on first use). */
export function subscribersOf(service: StorageService): Subscribers {
  let s = byService.get(service);
  if (!s) {
    s = new Subscribers();
    byService.set(service, s);
  }
  return s;
}
