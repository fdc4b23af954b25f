// Who is calling: the uid behind a bus name, as the bus daemon itself vouches for it (the peer credentials it
// took at connect time). One low-level call to the bus driver, no proxy object (no match rules to leak).

import dbus from 'dbus-next';
import { createError } from '../errors.js';

const { Message } = dbus;

/** The uid of the process that owns `sender`; AccessDenied when the bus cannot say (the caller left). */
export async function callerUid(bus: dbus.MessageBus, sender: string): Promise<number> {
  let reply: dbus.Message | null;
  try {
    reply = await bus.call(
      new Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'GetConnectionUnixUser',
        signature: 's',
        body: [sender],
      }),
    );
  } catch (err) {
    throw createError('AccessDenied', 'the caller could not be identified', {}, err);
  }
  const uid = reply?.body[0];
  if (typeof uid !== 'number' || !Number.isInteger(uid) || uid < 0) {
    throw createError('AccessDenied', 'the caller could not be identified');
  }
  return uid;
}
