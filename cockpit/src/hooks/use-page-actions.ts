// What every section acts through, without passing it down each level: the StorageClient (writes go through
// it, and nothing else reaches the daemon) and the error toasts.
import { createContext, useContext } from 'react';
import type { StorageClient } from '../storage.js';

/** The page's means of action, provided by the app. */
export interface PageActions {
  storage: StorageClient;
  /** Shows a failed call as a toast. */
  report: (err: unknown) => void;
}

export const PageActionsContext = createContext<PageActions | null>(null);

/** The page's StorageClient and error toasts, for a section's actions. */
export function usePageActions(): PageActions {
  const actions = useContext(PageActionsContext);
  if (!actions) throw new Error('usePageActions outside PageActionsContext');
  return actions;
}
