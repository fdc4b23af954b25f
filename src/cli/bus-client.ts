// The CLI's side of the wire: connects to the system bus (this host's, or another's over SSH) and makes low-level method calls on
// org.bootc.Storage (with ALLOW_INTERACTIVE_AUTHORIZATION unless told not to), subscribes to its signals,
// and reads job properties.

import dbus from 'dbus-next';
// The one module that touches dbus-next's internals; it imports nothing of the daemon (ARCHITECTURE.md).
import { onConnectionEnd } from '../api/dbus/dbus-next-internals.js';
import { BUS_NAME, JOB_IFACE, JOB_PATH_PREFIX, STORAGE_IFACE, STORAGE_PATH } from '../api/dbus/names.js';
import { FIELD_OF_PROPERTY, type JobFieldValues, jobFieldValue } from '../jobs/job-fields.js';
import { CliError, toOneLine } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import type { RemoteHost } from './remote-host.js';
import { openSshTunnel, type SshTunnel } from './ssh-tunnel.js';

const { Message } = dbus;

// The names of the wire contract come from the one table the daemon exports too.
export { BUS_NAME, JOB_IFACE, JOB_PATH_PREFIX, STORAGE_IFACE, STORAGE_PATH };
export const PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties';

/** D-Bus header flag ALLOW_INTERACTIVE_AUTHORIZATION. */
const FLAG_ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
export const MESSAGE_TYPE_SIGNAL = 4;
const CONNECT_TIMEOUT_MS = 25_000;

/** A connection to the system bus with the caller's interaction preference. */
export interface StorageClient {
  bus: dbus.MessageBus;
  /** Whether calls carry ALLOW_INTERACTIVE_AUTHORIZATION. */
  interactive: boolean;
  /** Resolves when the connection to the bus is lost (or closed). */
  closed: Promise<void>;
  disconnect(): void;
}

/** How to reach the bus: whether calls may prompt, and the remote host of `-H`, if any. */
export interface ConnectOptions {
  interactive: boolean;
  host?: RemoteHost | undefined;
}

/**
 * Waits for dbus-next's handshake (and Hello); a failure says why, in ssh's words when ssh was the cause. Settles
 * once, whatever else the bus reports meanwhile. Over SSH, Ctrl-C while connecting ends the attempt (status 130).
 */
function waitForHandshake(bus: dbus.MessageBus, tunnel: SshTunnel | undefined): Promise<void> {
  const where = tunnel ? 'the system bus over SSH' : 'the system bus';
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let failing = false;
    const finish = (failure?: CliError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.removeListener('SIGINT', interrupted);
      if (failure) reject(failure);
      else resolve();
    };
    const fail = (err: unknown) => {
      if (done || failing) return;
      failing = true;
      const detail = err instanceof Error ? err.message : String((err as { text?: string })?.text ?? err);
      const failure = new CliError(`cannot connect to ${where}: ${toOneLine(detail)}`, EXIT.FAILURE);
      if (tunnel) void tunnel.explain(failure).then(finish);
      else finish(failure);
    };
    const interrupted = () => finish(new CliError('interrupted while connecting', EXIT.INTERRUPTED));
    // Over SSH on a terminal someone may be typing a password: ssh's own timeouts apply then, and Ctrl-C.
    const timer = tunnel?.mayPrompt
      ? undefined
      : setTimeout(
          () => (tunnel ? finish(tunnel.timedOut(CONNECT_TIMEOUT_MS)) : fail(new Error('timed out'))),
          CONNECT_TIMEOUT_MS,
        );
    if (tunnel) process.once('SIGINT', interrupted);
    bus.once('connect', () => finish());
    // Stays: a second error (the stream ending as ssh dies) must find a listener, not throw.
    bus.on('error', fail);
    void tunnel?.failed.then(finish);
  });
}

/**
 * Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket), or with `host` to that host's
 * system bus through ssh and its systemd-stdio-bridge (ssh-tunnel.ts).
 */
export async function connectStorageClient(opts: ConnectOptions): Promise<StorageClient> {
  const tunnel = opts.host ? await openSshTunnel(opts.host, opts) : undefined;
  let bus: dbus.MessageBus | undefined;
  try {
    // dbus-next's systemBus() reads only DBUS_SYSTEM_BUS_ADDRESS; sessionBus() takes an address: the tunnel's.
    bus = tunnel ? dbus.sessionBus({ busAddress: tunnel.address }) : dbus.systemBus();
    await waitForHandshake(bus, tunnel);
  } catch (err) {
    bus?.disconnect();
    tunnel?.close();
    throw err;
  }
  tunnel?.connected();
  // A connection lost later fails the pending call through its own error; keep the emitter from throwing.
  bus.on('error', () => undefined);
  // dbus-next's MessageBus says nothing when the connection ends; its connection and socket do.
  const closed = new Promise<void>((resolve) => onConnectionEnd(bus, resolve));
  const connection = bus;
  const disconnect = () => {
    connection.disconnect();
    tunnel?.close();
  };
  return { bus, interactive: opts.interactive, closed, disconnect };
}

export interface CallOptions {
  path?: string;
  iface?: string;
  destination?: string;
}

/** Calls a method and returns the reply body; rejects with dbus-next's DBusError (its `type` is the name). */
export async function callMethod(
  client: StorageClient,
  member: string,
  signature = '',
  body: unknown[] = [],
  opts: CallOptions = {},
): Promise<unknown[]> {
  return (await callForReply(client, member, signature, body, opts)).body ?? [];
}

/**
 * Calls a method and returns the whole reply: its `sender` is the unique name that answered (set by the bus
 * daemon), which a caller compares with the name's owner before it believes the answer.
 */
export async function callForReply(
  client: StorageClient,
  member: string,
  signature = '',
  body: unknown[] = [],
  opts: CallOptions = {},
): Promise<{ body?: unknown[]; sender?: string; serial?: number | null }> {
  const reply = await client.bus.call(
    new Message({
      destination: opts.destination ?? BUS_NAME,
      path: opts.path ?? STORAGE_PATH,
      interface: opts.iface ?? STORAGE_IFACE,
      member,
      signature,
      body,
      flags: (client.interactive ? FLAG_ALLOW_INTERACTIVE_AUTHORIZATION : 0) as dbus.MessageFlag,
    }),
  );
  return reply ?? {};
}

/** Asks the bus daemon to route matching signals to us; resolves once the rule is installed. */
export async function addMatchRule(client: StorageClient, rule: string): Promise<void> {
  await callMethod(client, 'AddMatch', 's', [rule], {
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    iface: 'org.freedesktop.DBus',
  });
}

/**
 * Subscribes to org.bootc.Storage's own signals and to PropertiesChanged of its job objects. The rules' sender=
 * filters broadcasts only: a signal addressed to our unique name arrives from anyone, so a listener checks the
 * sender against the name's owner (name-owner.ts) before believing it.
 */
export async function subscribeToJobSignals(client: StorageClient): Promise<void> {
  await addMatchRule(client, `type='signal',sender='${BUS_NAME}',interface='${STORAGE_IFACE}'`);
  await addMatchRule(
    client,
    `type='signal',sender='${BUS_NAME}',interface='${PROPERTIES_IFACE}',member='PropertiesChanged',path_namespace='${STORAGE_PATH}/job'`,
  );
}

/**
 * What a job object says about itself: the org.bootc.Storage.Job properties, one per field of the one list
 * (jobs/job-fields.ts). The first few are always there; the rest may be absent (older daemons, or not yet).
 */
export type JobProperties = Pick<
  JobFieldValues,
  'id' | 'kind' | 'target' | 'state' | 'progress' | 'bytesDone' | 'bytesTotal' | 'owner'
> &
  Partial<JobFieldValues>;

/** Applies a{sv} property values (GetAll or PropertiesChanged) onto a job record; unknown names are ignored. */
export function applyJobProperties(
  into: Partial<JobProperties>,
  values: Record<string, { value: unknown }>,
): Partial<JobProperties> {
  const record = into as Record<string, unknown>;
  for (const [property, variant] of Object.entries(values)) {
    const field = FIELD_OF_PROPERTY.get(property);
    if (!field) continue;
    const v = variant?.value;
    // Result is a variant holding the blocking call's out argument: its content is the value.
    const value = field.type.dbus === 'v' ? (v as { value?: unknown } | undefined)?.value : v;
    record[field.name] = jobFieldValue(field, value);
  }
  return into;
}

/**
 * Reads every property of a job object, with the serial of the daemon's reply (its signals with a higher
 * serial are newer than what was read) and its sender (who answered); undefined when the job has already gone.
 */
export async function readJobSnapshot(
  client: StorageClient,
  path: string,
): Promise<{ props: JobProperties; serial: number; sender: string } | undefined> {
  try {
    const reply = await client.bus.call(
      new Message({
        destination: BUS_NAME,
        path,
        interface: PROPERTIES_IFACE,
        member: 'GetAll',
        signature: 's',
        body: [JOB_IFACE],
      }),
    );
    const [values] = (reply?.body ?? []) as [Record<string, { value: unknown }>];
    const props = applyJobProperties({}, values ?? {});
    if (props.id === undefined) return undefined;
    return { props: props as JobProperties, serial: reply?.serial ?? 0, sender: reply?.sender ?? '' };
  } catch {
    return undefined;
  }
}

/** Reads every property of a job object; undefined when the job has already gone. */
export async function readJobProperties(
  client: StorageClient,
  path: string,
): Promise<JobProperties | undefined> {
  try {
    const [values] = (await callMethod(client, 'GetAll', 's', [JOB_IFACE], {
      path,
      iface: PROPERTIES_IFACE,
    })) as [Record<string, { value: unknown }>];
    const props = applyJobProperties({}, values ?? {});
    return props.id === undefined ? undefined : (props as JobProperties);
  } catch {
    return undefined;
  }
}

/** One entry of ListJobs. */
export interface JobListEntry {
  id: number;
  kind: string;
  target: string;
  state: string;
  path: string;
}

export async function listJobs(client: StorageClient): Promise<JobListEntry[]> {
  const [jobs] = (await callMethod(client, 'ListJobs')) as [[number, string, string, string, string][]];
  return (jobs ?? []).map(([id, kind, target, state, path]) => ({ id, kind, target, state, path }));
}
