// Who may hold Varlink connections and input buffers, per uid: one user (nobody, say) can fill only its own
// share, never everyone's. Root has a pool of its own, so other users together can never make root wait or
// get Busy. The uid is the kernel's (SO_PEERCRED), bound when the connection is accepted.

/** The caps, each per uid except `total`. */
export interface AdmissionLimits {
  /** Connections of all non-root users together; root has as many again for itself. */
  total: number;
  /** Connections one non-root uid may hold. */
  perUid: number;
  /** Bytes of unfinished and queued input one non-root uid may have buffered across its connections. */
  bufferedPerUid: number;
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = {
  total: 64,
  perUid: 16,
  bufferedPerUid: 4 * 1024 * 1024,
};

/** A connection's uid where the server does not identify peers (tests, embedders): one shared non-root share. */
export const UNKNOWN_UID = -1;

/** Counts connections and buffered bytes per uid against the caps. */
export class Admission {
  private readonly conns = new Map<number, number>();
  private readonly bytes = new Map<number, number>();
  private nonRoot = 0;
  private root = 0;

  constructor(readonly limits: AdmissionLimits = DEFAULT_ADMISSION_LIMITS) {}

  /** Admits one more connection of `uid`, or says which cap it would break (nothing is counted then). */
  admit(uid: number): 'ok' | 'total' | 'uid' {
    if (uid === 0) {
      if (this.root >= this.limits.total) return 'total';
      this.root += 1;
      return 'ok';
    }
    const mine = this.conns.get(uid) ?? 0;
    if (mine >= this.limits.perUid) return 'uid';
    if (this.nonRoot >= this.limits.total) return 'total';
    this.conns.set(uid, mine + 1);
    this.nonRoot += 1;
    return 'ok';
  }

  /** A connection of `uid` closed. */
  leave(uid: number): void {
    if (uid === 0) {
      this.root -= 1;
      return;
    }
    this.nonRoot -= 1;
    const left = (this.conns.get(uid) ?? 1) - 1;
    if (left > 0) this.conns.set(uid, left);
    else this.conns.delete(uid);
  }

  /**
   * Moves `uid`'s buffered input by `delta` bytes. Growth past its cap is refused (false, nothing counted);
   * root's input is bounded by each connection's own limits only.
   */
  buffer(uid: number, delta: number): boolean {
    if (uid === 0 || delta === 0) return true;
    const now = (this.bytes.get(uid) ?? 0) + delta;
    if (delta > 0 && now > this.limits.bufferedPerUid) return false;
    if (now > 0) this.bytes.set(uid, now);
    else this.bytes.delete(uid);
    return true;
  }

  /** Connections held: by root, by everyone else, and by one uid. */
  held(uid?: number): { root: number; nonRoot: number; uid: number } {
    return {
      root: this.root,
      nonRoot: this.nonRoot,
      uid: uid === undefined ? 0 : (this.conns.get(uid) ?? 0),
    };
  }

  /** Bytes a uid has buffered. */
  buffered(uid: number): number {
    return this.bytes.get(uid) ?? 0;
  }
}
