// polkit's "yes" to the read action, remembered per caller and per question for a few seconds: reads are
// answered in tens of microseconds and a CheckAuthorization round trip costs milliseconds. One cache for both
// transports (the daemon makes one and hands it to each). A grant answers only the question it was given for:
// the same caller and the same details (an Exists of another image asks polkit again, so a rule that decides
// per image is obeyed). Only allowed answers are kept (a denied caller is asked again every time, so it stays
// denied); a caller is a bus name or a Varlink connection, neither ever reused, so an entry can never
// authorize another process; never longer than the time to live; bounded in number (the oldest callers go
// first); dropped when the caller leaves (NameOwnerChanged, a closed Varlink connection) and all at once when
// polkit says its rules or authorizations changed.

/** How long an allowed read stays allowed without asking polkit again, and how many grants are kept. */
export const READ_GRANT_LIMITS = { ttlMs: 10_000, max: 4096 } as const;

/** One question's key: the details polkit was shown, in a stable order. */
function questionOf(details: Readonly<Record<string, string>>): string {
  const keys = Object.keys(details);
  if (keys.length === 0) return '';
  return JSON.stringify(keys.sort().map((k) => [k, details[k]]));
}

/** Allowed reads by caller and question, each until its expiry. */
export class ReadGrants {
  /** Caller → question → expiry (ms); the outer Map's insertion order is the callers' age (renewed go last). */
  private readonly byCaller = new Map<string, Map<string, number>>();
  private count = 0;
  /** Counts clear()s: a yes asked for before polkit's answers changed is not kept (grant's `asked`). */
  private generation = 0;

  constructor(
    private readonly limits: { ttlMs: number; max: number } = READ_GRANT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `who` was allowed this read (these details) within the time to live. */
  has(who: string, details: Readonly<Record<string, string>> = {}): boolean {
    const mine = this.byCaller.get(who);
    if (!mine) return false;
    const q = questionOf(details);
    const expiry = mine.get(q);
    if (expiry === undefined) return false;
    if (expiry > this.now()) return true;
    this.drop(who, mine, q);
    return false;
  }

  /** Take before asking polkit, and hand to grant(): its yes is kept only if nothing changed meanwhile. */
  get epoch(): number {
    return this.generation;
  }

  /**
   * Remembers polkit's yes for `who` and these details (unless polkit's answers changed since `asked`, its
   * epoch when the question was asked), evicting expired grants first, then the oldest callers'.
   */
  grant(who: string, details: Readonly<Record<string, string>> = {}, asked = this.generation): void {
    if (asked !== this.generation || who === '') return;
    const now = this.now();
    const q = questionOf(details);
    const mine = this.byCaller.get(who) ?? new Map<string, number>();
    this.byCaller.delete(who); // out of the eviction's reach, then re-inserted last: the youngest caller
    if (mine.delete(q)) this.count -= 1;
    if (this.count >= this.limits.max) this.makeRoom(now, mine);
    this.byCaller.set(who, mine);
    mine.set(q, now + this.limits.ttlMs);
    this.count += 1;
  }

  /**
   * The one way a transport authorizes a read: a grant answers at once, otherwise `ask` (polkit) decides and
   * its yes is remembered.
   */
  async authorize(
    who: string,
    details: Readonly<Record<string, string>>,
    ask: () => Promise<void>,
  ): Promise<void> {
    if (this.has(who, details)) return;
    const asked = this.generation;
    await ask();
    this.grant(who, details, asked);
  }

  /** The caller left (its bus name or Varlink connection is gone): its grants go with it. Whether it had any. */
  forget(who: string): boolean {
    const mine = this.byCaller.get(who);
    if (!mine) return false;
    this.count -= mine.size;
    this.byCaller.delete(who);
    return true;
  }

  /** polkit's rules or authorizations changed: ask again for everyone. */
  clear(): void {
    this.generation += 1;
    this.byCaller.clear();
    this.count = 0;
  }

  /** Grants held (expired ones included until looked up or evicted). */
  get size(): number {
    return this.count;
  }

  private drop(who: string, mine: Map<string, number>, q: string): void {
    if (mine.delete(q)) this.count -= 1;
    if (mine.size === 0) this.byCaller.delete(who);
  }

  /**
   * Makes room for one more grant: expired grants first, then the oldest callers' grants, then the oldest of
   * this caller's own (`mine`, out of the map meanwhile), so no caller, however many questions it asks, holds
   * more than the bound.
   */
  private makeRoom(now: number, mine: Map<string, number>): void {
    for (const [who, m] of this.byCaller)
      for (const [q, expiry] of m) if (expiry <= now) this.drop(who, m, q);
    for (const [q, expiry] of mine) if (expiry <= now && mine.delete(q)) this.count -= 1;
    for (const [who, m] of this.byCaller) {
      for (const q of m.keys()) {
        if (this.count < this.limits.max) return;
        this.drop(who, m, q);
      }
    }
    for (const q of mine.keys()) {
      if (this.count < this.limits.max) return;
      if (mine.delete(q)) this.count -= 1;
    }
  }
}
