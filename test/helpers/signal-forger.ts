// A hostile bus client for tests: one connection (run as another user, e.g. nobody) that sends signals addressed
// to a chosen unique name, with any path, interface and body, as any local user may on the system bus. It is
// bundled into a single file (buildSignalForger) so an unprivileged user can run it from a test's directory.
//
// Protocol: it prints `name <its unique name>` once connected, then reads one JSON command per stdin line,
// {dest, path, iface, member, signature, body}, where {"$v": [signature, value]} in the body stands for a
// Variant; it sends the signal, waits for a round trip to the bus (so the bus has routed it), and prints `sent`.

import { createInterface } from 'node:readline';
import dbus from 'dbus-next';

export interface ForgedSignal {
  dest: string;
  path: string;
  iface: string;
  member: string;
  signature: string;
  body: unknown[];
}

/** A Variant in a forged body: `v('s', 'done')`, `v('v', v('b', true))`. */
export function v(signature: string, value: unknown): { $v: [string, unknown] } {
  return { $v: [signature, value] };
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (Array.isArray(obj.$v) && Object.keys(obj).length === 1) {
      const [sig, inner] = obj.$v as [string, unknown];
      return new dbus.Variant(sig, revive(inner));
    }
    return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, revive(x)]));
  }
  return value;
}

async function main(): Promise<void> {
  const address = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  if (!address) throw new Error('DBUS_SYSTEM_BUS_ADDRESS is not set');
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  process.stdout.write(`name ${(bus as unknown as { name: string }).name}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const cmd = JSON.parse(line) as ForgedSignal;
    const msg = new dbus.Message({
      type: dbus.MessageType.SIGNAL,
      destination: cmd.dest,
      path: cmd.path,
      interface: cmd.iface,
      member: cmd.member,
      signature: cmd.signature,
      body: revive(cmd.body) as unknown[],
    });
    bus.send(msg);
    // The bus handles one connection's messages in order: once it answers this, it has routed the signal.
    await bus.call(
      new dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'GetId',
      }),
    );
    process.stdout.write('sent\n');
  }
  bus.disconnect();
}

if (process.env.SIGNAL_FORGER_MAIN === '1') {
  main().catch((err) => {
    process.stderr.write(`signal-forger: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
