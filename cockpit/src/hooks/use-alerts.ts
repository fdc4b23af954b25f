// The errors of the user's actions, as the toasts show them: the newest few, each until the user closes it.
import { useCallback, useRef, useState } from 'react';
import { toStorageError } from '../storage.js';

/** One failed action: its words and the D-Bus error name (a data attribute, for tests and debugging). */
export interface ErrorAlert {
  id: number;
  title: string;
  errorName: string;
}

const KEPT = 4;

/** The toasts' list, `report` to add a failure (what a cockpit.js call rejected with) and `close`. */
export function useAlerts(): {
  alerts: ErrorAlert[];
  report: (err: unknown) => void;
  close: (id: number) => void;
} {
  const [alerts, setAlerts] = useState<ErrorAlert[]>([]);
  const seq = useRef(0);
  const report = useCallback((err: unknown) => {
    const e = toStorageError(err);
    const alert = { id: ++seq.current, title: e.message, errorName: e.errorName };
    // The newest few; older ones the user did not close make room.
    setAlerts((list) => [...list, alert].slice(-KEPT));
  }, []);
  const close = useCallback((id: number) => setAlerts((list) => list.filter((a) => a.id !== id)), []);
  return { alerts, report, close };
}
