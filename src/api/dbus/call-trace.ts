// Where a D-Bus call's time goes inside the daemon, stage by stage, for the read benchmark (bench/reads.ts):
// off unless the daemon is started with BOOTC_STORAGED_TRACE_CALLS=1, and then one debug line per call
// ("call timing", microseconds per stage). Off, every stage costs one check of an undefined value.

/** Set once at start-up from the environment: tracing is a benchmark's choice, never a runtime switch. */
export const TRACE_CALLS = process.env.BOOTC_STORAGED_TRACE_CALLS === '1';

/** When the message reader started and finished parsing the message it is handing over (ns, hrtime). */
const parsed = { start: 0n, end: 0n };

/** The reader's note, just before it hands a parsed message to dbus-next (only while tracing). */
export function noteParsed(start: bigint): void {
  parsed.start = start;
  parsed.end = process.hrtime.bigint();
}

/** One call's stages: each mark closes the stage that ran since the previous mark. */
export class CallTrace {
  /** Microseconds per stage, in the order they ran. */
  readonly us: Record<string, number> = {};
  /** Facts about the call worth a column: a cache hit, the reply's size. */
  readonly facts: Record<string, boolean | number> = {};
  private last: bigint;

  /** Starts at the end of the message's parse when the reader noted it, else now. */
  constructor() {
    const now = process.hrtime.bigint();
    const fresh = parsed.end > 0n && now - parsed.end < 5_000_000n;
    this.last = fresh ? parsed.end : now;
    if (fresh) this.us.parse = Number(parsed.end - parsed.start) / 1000;
    parsed.end = 0n;
  }

  /** Closes the stage `stage` (several marks of one name add up). */
  mark(stage: string): void {
    const now = process.hrtime.bigint();
    this.us[stage] = (this.us[stage] ?? 0) + Number(now - this.last) / 1000;
    this.last = now;
  }
}
