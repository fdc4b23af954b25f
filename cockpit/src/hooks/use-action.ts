// The state of one button's action: busy while its call runs (the button shows a spinner and cannot be pressed
// twice), then, for a call that starts a job (a Start method answers with its object path), busy while that job
// is not over, as the page's job list (every client's jobs, from the ObjectManager) shows it; or, with a hold,
// until a value the row shows changes. A failure is reported as a toast.
import { useState } from 'react';
import { isFinal } from '../model.js';
import { usePageActions } from './use-page-actions.js';

/** After a success, stay busy until `until` no longer has the value it had when the call started. */
export interface Hold {
  until: unknown;
}

/** The job a call started: its object path, and the daemon it belongs to (the page's owner generation). */
interface Started {
  path: string;
  generation: number;
  /** The job list has shown it (so its disappearance means it expired, not that it is not listed yet). */
  seen: boolean;
}

const jobPathOf = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && typeof (v as { path?: unknown }).path === 'string'
    ? (v as { path: string }).path
    : undefined;

/** A button's action and whether it is busy; failures become toasts. */
export function useAction<A extends unknown[]>(
  action: (...args: A) => Promise<unknown>,
  hold?: Hold,
): { busy: boolean; run: (...args: A) => Promise<void> } {
  const { report, jobs, generation } = usePageActions();
  const [running, setRunning] = useState(false);
  const [held, setHeld] = useState<Hold | null>(null);
  const [started, setStarted] = useState<Started | null>(null);
  const run = async (...args: A) => {
    const at = hold ? { until: hold.until } : null;
    setRunning(true);
    try {
      const path = jobPathOf(await action(...args));
      setHeld(at);
      if (path !== undefined) setStarted({ path, generation, seen: false });
    } catch (err) {
      report(err);
    } finally {
      setRunning(false);
    }
  };
  // Adjusted while rendering, as React recommends for state derived from props: a hold ends once its value
  // changed; a job ends once it is final, gone after being seen, or of a daemon that has since been replaced.
  if (held !== null && !Object.is(held.until, hold?.until)) setHeld(null);
  const job = started?.generation === generation ? jobs.find((j) => j.path === started.path) : undefined;
  const jobBusy =
    started !== null && started.generation === generation && (job ? !isFinal(job) : !started.seen);
  if (started !== null && !jobBusy) setStarted(null);
  else if (started !== null && job && !started.seen) setStarted({ ...started, seen: true });
  const busy = running || jobBusy || (held !== null && Object.is(held.until, hold?.until));
  return { busy, run };
}
