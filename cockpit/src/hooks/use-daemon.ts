// The hook that gives the page the daemon: it starts the DaemonStore (the StorageClient, its subscriptions to
// the job and change signals, the first read) once, and re-renders on each of its changes.
import { useEffect, useSyncExternalStore } from 'react';
import type { DaemonState, DaemonStore } from '../daemon-store.js';

/** The daemon's state as the store keeps it, the store started on first use; `report` hears start errors. */
export function useDaemon(store: DaemonStore, report: (err: unknown) => void): DaemonState {
  const state = useSyncExternalStore(store.subscribe, store.getState);
  useEffect(() => {
    void store.start(report);
  }, [store, report]);
  return state;
}
