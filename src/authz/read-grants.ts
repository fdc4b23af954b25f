// polkit's "yes" to the read action, remembered per caller for a few seconds: reads are answered in tens of
// microseconds and a CheckAuthorization round trip costs milliseconds. Only allowed answers are kept (a denied
// caller is asked again every time, so it stays denied), for a bus name only (the bus never reuses a unique
// name, so an entry can never authorize another process), never longer than the time to live, bounded in
// number (the oldest go first), and dropped when the caller leaves the bus or polkit says its rules or
// authorizations changed.

/** How long an allowed read stays allowed without asking polkit again, and how many callers are kept. */
export const READ_GRANT_LIMITS = { ttlMs: 10_000, max: 4096 } as const;

/** Allowed reads by bus name, each until its expiry. */
export class ReadGrants {
  /** Bus name → expiry (ms); the Map's insertion order is the age order (a renewed grant goes last). */
  private readonly until = new Map<string, number>();
  /** Counts clear()s: a yes asked for before polkit's answers changed is not kept (grant's `asked`). */
  private generation = 0;

  constructor(
    private readonly limits: { ttlMs: number; max: number } = READ_GRANT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `sender` was allowed to read within the time to live. */
  has(sender: string): boolean {
    const expiry = this.until.get(sender);
    if (expiry === undefined) return false;
    if (expiry > this.now()) return true;
    this.until.delete(sender);
    return false;
  }

  /** Take before asking polkit, and hand to grant(): its yes is kept only if nothing changed meanwhile. */
  get epoch(): number {
    return this.generation;
  }

  /**
   * Remembers polkit's yes for `sender` (unless polkit's answers changed since `asked`, its epoch when the
   * question was asked), evicting expired grants first, then the oldest.
   */
  grant(sender: string, asked = this.generation): void {
    if (asked !== this.generation) return;
    const now = this.now();
    this.until.delete(sender);
    if (this.until.size >= this.limits.max) {
      for (const [name, expiry] of this.until) if (expiry <= now) this.until.delete(name);
      for (const name of this.until.keys()) {
        if (this.until.size < this.limits.max) break;
        this.until.delete(name);
      }
    }
    this.until.set(sender, now + this.limits.ttlMs);
  }

  /** The caller left the bus (NameOwnerChanged): its grant goes with it. Whether it had one. */
  forget(sender: string): boolean {
    return this.until.delete(sender);
  }

  /** polkit's rules or authorizations changed: ask again for everyone. */
  clear(): void {
    this.generation += 1;
    this.until.clear();
  }

  /** Grants held (expired ones included until looked up or evicted). */
  get size(): number {
    return this.until.size;
  }
}
