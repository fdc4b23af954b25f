// Change notifications: Varlink's Watch stream, and D-Bus's Subscribe/Unsubscribe, which keep the daemon up
// for the StoreChanged and DeploymentsChanged signals.

import { ACTION_READ } from '../../authz/actions.js';
import * as z from '../../schema.js';
import { CHANGE_EVENT_NAMES, type ChangeKind } from '../caller.js';
import { changesOf } from '../change-watch.js';
import { defineOperation } from '../contract.js';
import { subscribersOf } from '../subscribers.js';
import { T } from '../wire-types.js';

/** A Watch reply's event: the watch is armed, or which state changed (the D-Bus signal of the same name). */
type WatchEvent = 'watching' | ChangeKind;
const EVENT_NAMES: Record<WatchEvent, string> = { watching: 'Watching', ...CHANGE_EVENT_NAMES };

export const WATCH = defineOperation({
  name: 'Watch',
  kind: 'read',
  only: 'varlink',
  requiresMore: true,
  doc: `Streams "look again" events, whoever changed what the daemon reads: the daemon's own jobs, bootc staging an update or pruning, ostree admin deploy or undeploy, an admin's podman on the store. The first reply says the watch is armed; then one reply per change, after a burst of file changes settles (about 150 ms): "StoreChanged" when the store's images or their names changed, "DeploymentsChanged" when the deployments, their roles or the pending updates changed. Events carry no image names: read List, ListDeployments or ListBoundImages again. There is no final reply; the stream ends when the caller closes the connection (or the daemon stops: a client that must not miss a change reads again when it reconnects). While a Watch is open the daemon does not exit for idleness. Called without "more": true it fails with org.varlink.service.ExpectedMore.`,
  in: [],
  out: [
    {
      name: 'event',
      type: T.string,
      doc: '"Watching" (the first reply), then "StoreChanged" or "DeploymentsChanged".',
    },
  ],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: [],
  run: async (service) => {
    const feed = changesOf(service);
    await feed.start();
    return { feed };
  },
  toDBus: () => [],
  toVarlink: (event: WatchEvent) => ({ event: EVENT_NAMES[event] }),
});

export const SUBSCRIBE = defineOperation({
  name: 'Subscribe',
  kind: 'read',
  only: 'dbus',
  doc: `Keeps the daemon running for the caller, so it hears every StoreChanged and DeploymentsChanged signal: the daemon otherwise exits when idle, and a change made while it is not running is signalled to nobody. The first listener (a Subscribe, or a Varlink Watch) arms the watch the signals come from; from then on they are sent to everyone, until the daemon exits. Lasts until Unsubscribe or until the caller's connection leaves the bus; subscribing again is a no-op. A caller that subscribes after the daemon (re)started should read the state again: changes before it are not signalled.`,
  in: [],
  out: [],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: ['Busy (the uid already holds 16 subscriptions)'],
  run: async (service, _input, caller) => {
    subscribersOf(service).add(caller.who, await caller.uid());
    // The watch is armed by its first listener: a daemon nobody listens to watches nothing.
    await changesOf(service).start();
    return { value: undefined };
  },
  toDBus: () => [],
  toVarlink: () => ({}),
});

export const UNSUBSCRIBE = defineOperation({
  name: 'Unsubscribe',
  kind: 'read',
  only: 'dbus',
  doc: "Ends the caller's Subscribe (nothing happens when it has none); the daemon may then exit when idle.",
  in: [],
  out: [],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: [],
  run: async (service, _input, caller) => ({ value: subscribersOf(service).remove(caller.who) }),
  toDBus: () => [],
  toVarlink: () => ({}),
});
