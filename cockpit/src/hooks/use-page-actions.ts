// What every section acts through, without passing it down each level: the StorageClient (writes go through
// it, and nothing else reaches the daemon), the error toasts, and the daemon's jobs (a button that started one
// stays busy while it runs).
import { createContext, useContext } from 'react';
import type { Job } from '../model.js';
import type { StorageClient } from '../storage.js';

/** The page's means of action, provided by the app. */
export interface PageActions {
  storage: StorageClient;
  /** Shows a failed call as a toast. */
  report: (err: unknown) => void;
  /** Every job of the daemon, whoever started it. */
  jobs: Job[];
  /** Counts the daemons the page has followed: a job path of an earlier one means nothing now. */
  generation: number;
}

export const PageActionsContext = createContext<PageActions | null>(null);

/** The page's StorageClient and error toasts, for a section's actions. */
export function usePageActions(): PageActions {
  const actions = useContext(PageActionsContext);
  if (!actions) throw new Error('usePageActions outside PageActionsContext');
  return actions;
}
