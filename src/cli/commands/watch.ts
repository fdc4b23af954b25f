// `watch`: prints a line each time the store's images or the deployments change, whoever changed them, until
// Ctrl-C. It subscribes (Subscribe keeps the daemon running for it), believes only StoreChanged and
// DeploymentsChanged whose sender owns org.bootc.Storage now, and says when the daemon stops or starts again:
// a new daemon's changes before this subscribed again are not signalled, so that line means "look again".

import type dbus from 'dbus-next';
import {
  addMatchRule,
  BUS_NAME,
  callMethod,
  MESSAGE_TYPE_SIGNAL,
  STORAGE_IFACE,
  STORAGE_PATH,
} from '../bus-client.js';
import { toCliError } from '../cli-error.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type NameOwnerWatch, watchNameOwner } from '../name-owner.js';
import { untilStopped } from '../until-stopped.js';

/** What a line says, by event (the JSON form's `event` is the key). */
const WORDS: Record<string, string> = {
  StoreChanged: 'store changed: its images or their names (list)',
  DeploymentsChanged: 'deployments changed: deployments, roles or pending updates (deployments, bound)',
  Watching: 'watching for changes (Ctrl-C to stop)',
  DaemonStopped: 'the daemon stopped; watching for it to start again',
  DaemonStarted: 'the daemon started again: look again (changes before now were not signalled)',
};

/** Subscribes and prints events until SIGINT or SIGTERM (exit 0), or until the bus connection is lost. */
export async function runWatch(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const print = (event: string) => {
    const time = new Date().toISOString();
    ctx.stdout.write(
      opts.json
        ? `${JSON.stringify({ time, event })}\n`
        : `${time.slice(0, 19).replace('T', ' ')} ${WORDS[event]}\n`,
    );
  };
  const subscribe = () => callMethod(ctx.client, 'Subscribe');

  let owner: NameOwnerWatch | undefined;
  const onMessage = (msg: dbus.Message) => {
    if (msg.type !== MESSAGE_TYPE_SIGNAL || !owner?.isFromOwner(msg)) return;
    if (msg.interface !== STORAGE_IFACE || msg.path !== STORAGE_PATH) return;
    if (msg.member === 'StoreChanged' || msg.member === 'DeploymentsChanged') print(msg.member);
  };
  const onOwnerChange = (_previous: string, current: string) => {
    if (current === '') return print('DaemonStopped');
    // A new daemon: keep it running for us too, then say so (its earlier changes went unsignalled).
    subscribe().then(
      () => print('DaemonStarted'),
      (err: unknown) => ctx.stderr.write(`bootc-storagectl: cannot subscribe again: ${String(err)}\n`),
    );
  };

  let stopOwnerWatch: () => unknown = () => undefined;
  try {
    // org.bootc.Storage's own signals only: job progress (PropertiesChanged) is not this command's business.
    await addMatchRule(ctx.client, `type='signal',sender='${BUS_NAME}',interface='${STORAGE_IFACE}'`);
    owner = await watchNameOwner(ctx.client);
    ctx.client.bus.on('message', onMessage);
    await subscribe(); // starts the daemon if it is not running (bus activation)
    stopOwnerWatch = owner.onChange(onOwnerChange);
  } catch (err) {
    stopOwnerWatch();
    owner?.close();
    ctx.client.bus.removeListener('message', onMessage);
    throw toCliError(err, 'cannot watch for changes', {
      member: 'Subscribe',
      noAskPassword: ctx.noAskPassword,
    });
  }
  print('Watching');
  const why = await untilStopped(ctx);
  stopOwnerWatch();
  owner.close();
  ctx.client.bus.removeListener('message', onMessage);
  if (why === 'lost')
    throw toCliError(new Error('the connection to the system bus was lost'), 'cannot watch for changes');
  // Leaving the bus ends the subscription too; saying so lets the daemon idle out at once.
  await callMethod(ctx.client, 'Unsubscribe').catch(() => undefined);
  return EXIT.OK;
}
