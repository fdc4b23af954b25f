// A bounded pool of slots shared fairly between users: each uid waits in its own FIFO queue, a free slot goes
// to the waiting uid holding the fewest (ties round-robin), and one uid may hold only part of the pool. A flood
// from one user then delays only that user: someone else's request takes a free slot at once, or the next
// one that frees.

import { createError } from '../errors.js';

/** How many slots there are and how much of them one uid may hold or queue for. */
export interface FairSlotLimits {
  /** Slots held at once, by everyone together. */
  total: number;
  /** Slots one uid may hold at once (less than `total`, so others always find room). */
  perUid: number;
  /** Requests one uid may have waiting; more is Busy for that uid only. */
  queuedPerUid: number;
}

/** Fair, bounded concurrency keyed by uid: `acquire` resolves with a release function once a slot is held. */
export class FairSlots {
  private running = 0;
  private readonly held = new Map<number, number>();
  /** Waiting requests per uid; the Map's insertion order is the round-robin order (served uids go last). */
  private readonly queues = new Map<number, (() => void)[]>();

  constructor(private readonly limits: FairSlotLimits) {}

  /** Waits (behind this uid's own earlier requests only, in turn with other uids) for a slot. */
  async acquire(uid: number): Promise<() => void> {
    const queue = this.queues.get(uid);
    if (!queue && this.canRun(uid)) return this.take(uid);
    if ((queue?.length ?? 0) >= this.limits.queuedPerUid) {
      throw createError('Busy', 'too many authorization checks are waiting for this user; try again later');
    }
    await new Promise<void>((resolve) => {
      if (queue) queue.push(resolve);
      else this.queues.set(uid, [resolve]);
    });
    // dispatch() took the slot for us before waking us.
    return this.releaser(uid);
  }

  private canRun(uid: number): boolean {
    return this.running < this.limits.total && (this.held.get(uid) ?? 0) < this.limits.perUid;
  }

  private take(uid: number): () => void {
    this.running += 1;
    this.held.set(uid, (this.held.get(uid) ?? 0) + 1);
    return this.releaser(uid);
  }

  private releaser(uid: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
      const left = (this.held.get(uid) ?? 1) - 1;
      if (left > 0) this.held.set(uid, left);
      else this.held.delete(uid);
      this.dispatch();
    };
  }

  /**
   * Hands each free slot to the waiting uid that holds the fewest (a newcomer goes before a flood), ties in
   * round-robin order: a served uid goes to the back of the line.
   */
  private dispatch(): void {
    while (this.running < this.limits.total) {
      let next: number | undefined;
      let fewest = this.limits.perUid;
      for (const uid of this.queues.keys()) {
        const held = this.held.get(uid) ?? 0;
        if (held < fewest) {
          next = uid;
          fewest = held;
        }
      }
      if (next === undefined) return;
      const queue = this.queues.get(next)!;
      const wake = queue.shift()!;
      this.queues.delete(next);
      if (queue.length > 0) this.queues.set(next, queue);
      this.running += 1;
      this.held.set(next, fewest + 1);
      wake();
    }
  }
}
