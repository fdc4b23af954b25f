// Who speaks for org.bootc.Storage: the unique name that owns it now, from GetNameOwner and then the bus's own
// NameOwnerChanged. A match rule's sender= filters broadcasts only: a signal addressed to our unique name
// reaches us from any connection, whatever the rules say. So every signal the CLI acts on must carry the
// owner's unique name as its sender (which the bus daemon sets and no client can forge).

import dbus from 'dbus-next';
import { BUS_NAME } from '../api/dbus/names.js';
import { addMatchRule, MESSAGE_TYPE_SIGNAL, type StorageClient } from './bus-client.js';

const { Message } = dbus;

/** The bus daemon itself: the sender of NameOwnerChanged and of the answers to its own methods. */
export const BUS_DRIVER = 'org.freedesktop.DBus';
const BUS_DRIVER_PATH = '/org/freedesktop/DBus';
const MESSAGE_TYPE_METHOD_RETURN = 2;
const MESSAGE_TYPE_ERROR = 3;

/** Called with the previous and the new owner ('' for none). */
export type OwnerChangeListener = (previous: string, current: string) => void;

/** Why: the owner-tracking rules apart from the bus, so they can be checked message by message. */
export class NameOwnerTracker {
  /** The unique name owning the name, or '' while nobody does (or before anything is known). */
  owner = '';
  private readonly listeners = new Set<OwnerChangeListener>();

  constructor(readonly name: string = BUS_NAME) {}

  /**
   * Takes one message, in the order the bus delivered them: only NameOwnerChanged from the bus daemon counts;
   * the same signal from anyone else (sent to our unique name) is ignored.
   */
  observe(msg: dbus.Message): void {
    if (
      msg.type !== MESSAGE_TYPE_SIGNAL ||
      msg.sender !== BUS_DRIVER ||
      msg.path !== BUS_DRIVER_PATH ||
      msg.interface !== BUS_DRIVER ||
      msg.member !== 'NameOwnerChanged'
    )
      return;
    const [name, , current] = (msg.body ?? []) as [unknown, unknown, unknown];
    if (name === this.name && typeof current === 'string') this.set(current);
  }

  /** GetNameOwner's answer ('' for NameHasNoOwner), taken at its place among the signals. */
  answer(owner: string): void {
    this.set(owner);
  }

  /** Whether a message comes from the current owner. */
  isFromOwner(msg: dbus.Message): boolean {
    return this.owner !== '' && msg.sender === this.owner;
  }

  /** Calls `fn` on every later change of owner; returns the unsubscribe. */
  onChange(fn: OwnerChangeListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(owner: string): void {
    if (owner === this.owner) return;
    const previous = this.owner;
    this.owner = owner;
    for (const fn of [...this.listeners]) fn(previous, owner);
  }
}

/** Why: a tracker fed by a live connection, which the caller closes when it stops listening. */
export interface NameOwnerWatch extends NameOwnerTracker {
  close(): void;
}

/**
 * Follows the owner of `name` on the client's connection: subscribes to its NameOwnerChanged, then asks
 * GetNameOwner. Both are handled in the listener, in the order the bus delivered them (a promise's
 * continuation may run after later messages of the same read), so the answer and the signals never race.
 */
export async function watchNameOwner(
  client: StorageClient,
  name: string = BUS_NAME,
): Promise<NameOwnerWatch> {
  const tracker = new NameOwnerTracker(name);
  let query: dbus.Message | undefined;
  const onMessage = (msg: dbus.Message) => {
    const answered =
      query !== undefined &&
      (msg.type === MESSAGE_TYPE_METHOD_RETURN || msg.type === MESSAGE_TYPE_ERROR) &&
      Number(msg.replySerial) === query.serial &&
      msg.sender === BUS_DRIVER;
    if (!answered) return tracker.observe(msg);
    query = undefined;
    const [owner] = (msg.body ?? []) as [unknown];
    tracker.answer(msg.type === MESSAGE_TYPE_METHOD_RETURN && typeof owner === 'string' ? owner : '');
  };
  client.bus.on('message', onMessage);
  const close = () => void client.bus.removeListener('message', onMessage);
  try {
    await addMatchRule(
      client,
      `type='signal',sender='${BUS_DRIVER}',path='${BUS_DRIVER_PATH}',interface='${BUS_DRIVER}',member='NameOwnerChanged',arg0='${name}'`,
    );
    query = new Message({
      destination: BUS_DRIVER,
      path: BUS_DRIVER_PATH,
      interface: BUS_DRIVER,
      member: 'GetNameOwner',
      signature: 's',
      body: [name],
    });
    await client.bus.call(query).catch((err: { type?: string }) => {
      // Nobody owns it yet: the first call will start the daemon, and NameOwnerChanged will say who it is.
      if (err?.type !== 'org.freedesktop.DBus.Error.NameHasNoOwner') throw err;
    });
  } catch (err) {
    close();
    throw err;
  }
  return Object.assign(tracker, { close });
}
