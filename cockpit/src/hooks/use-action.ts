// The state of one button's action: busy while its call runs (the button shows a spinner and cannot be pressed
// twice), the failure reported as a toast, and, for a call that starts a job whose end changes what the row
// shows, busy until that change arrives.
import { useState } from 'react';
import { usePageActions } from './use-page-actions.js';

/** After a success, stay busy until `until` no longer has the value it had when the call started. */
export interface Hold {
  until: unknown;
}

/** A button's action and whether it is busy; failures become toasts. */
export function useAction<A extends unknown[]>(
  action: (...args: A) => Promise<unknown>,
  hold?: Hold,
): { busy: boolean; run: (...args: A) => Promise<void> } {
  const { report } = usePageActions();
  const [running, setRunning] = useState(false);
  const [held, setHeld] = useState<Hold | null>(null);
  const run = async (...args: A) => {
    const at = hold ? { until: hold.until } : null;
    setRunning(true);
    try {
      await action(...args);
      setHeld(at);
    } catch (err) {
      report(err);
    } finally {
      setRunning(false);
    }
  };
  // Once the value changed, the hold is over (adjusted while rendering, as React recommends for derived state).
  if (held !== null && !Object.is(held.until, hold?.until)) setHeld(null);
  const busy = running || (held !== null && Object.is(held.until, hold?.until));
  return { busy, run };
}
