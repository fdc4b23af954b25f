// One full garbage collection once the daemon is at rest after start-up.
// Why: start-up leaves ~0.8 MiB of garbage that only a full (mark-compact) collection frees: the loader's copies
// of the bundle's source, the code-cache buffer, what building the schemas and the bus connection allocated.
// Scavenges never touch it, and a daemon that mostly waits may never reach a full collection, so it would stay
// resident for the daemon's whole life (bench/memory.ts, idle RSS). `gc` exists because the unit runs node
// with --expose-gc (systemd/bootc-storaged.service); under a node without it this does nothing.

/** V8's collector as --expose-gc exposes it. */
type Collect = () => void;

/**
 * Runs one full collection `delayMs` after the call, or, while `busy()` says work is under way then (a job, a
 * call, a connection: its garbage is collected the usual way), at the first check every `delayMs` after that
 * finds the daemon at rest; `report` gets the resident bytes before and after. The timers never hold the
 * process open.
 */
export function compactHeapWhenIdle(
  busy: () => boolean,
  report: (rssBefore: number, rssAfter: number) => void = () => {},
  delayMs = 1000,
  collect: Collect | undefined = (globalThis as { gc?: Collect }).gc,
): void {
  if (!collect) return;
  const check = () => {
    if (busy()) {
      setTimeout(check, delayMs).unref();
      return;
    }
    const before = process.memoryUsage.rss();
    collect();
    report(before, process.memoryUsage.rss());
  };
  setTimeout(check, delayMs).unref();
}
