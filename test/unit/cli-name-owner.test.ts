// Whom the CLI believes: the owner of org.bootc.Storage as the bus daemon reports it (GetNameOwner, then its
// NameOwnerChanged; the same signal from anyone else is ignored), and, while a job is followed, only the daemon
// that answered the Start call. Against a fake bus that delivers messages as dbus-next does ('message' for
// every message, the reply before its promise settles): forged signals from another sender change nothing,
// D-Bus activation (no owner, then one) works, and an owner that leaves or is replaced loses the job.

import { EventEmitter } from 'node:events';
import type dbus from 'dbus-next';
import { describe, expect, it } from 'vitest';
import type { StorageClient } from '../../src/cli/bus-client.js';
import { JobLost, runJobCall } from '../../src/cli/job-tracker.js';
import { BUS_DRIVER, NameOwnerTracker } from '../../src/cli/name-owner.js';

const SIGNAL = 4;
const METHOD_RETURN = 2;
const ERROR = 3;
const DAEMON = ':1.9';
const FORGER = ':1.66';
const JOB_PATH = '/org/bootc/Storage/job/7';

type Msg = Partial<dbus.Message> & { type: number };

const variant = (value: unknown) => ({ value });

function nameOwnerChanged(
  previous: string,
  current: string,
  sender = BUS_DRIVER,
  name = 'org.bootc.Storage',
): Msg {
  return {
    type: SIGNAL,
    sender,
    path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus',
    member: 'NameOwnerChanged',
    body: [name, previous, current],
  };
}

function propertiesChanged(sender: string, props: Record<string, unknown>, serial = 1000): Msg {
  return {
    type: SIGNAL,
    sender,
    serial,
    path: JOB_PATH,
    interface: 'org.freedesktop.DBus.Properties',
    member: 'PropertiesChanged',
    body: ['org.bootc.Storage.Job', props, []],
  };
}

const RUNNING = {
  Id: variant(7),
  Kind: variant('pull'),
  Target: variant('example.com/x:1'),
  State: variant('running'),
  Progress: variant(0.1),
  BytesDone: variant(1),
  BytesTotal: variant(10),
  Owner: variant(0),
};

interface Answer {
  sender: string;
  body?: unknown[];
  error?: string;
  /** Messages the bus delivers just before the reply (e.g. NameOwnerChanged of an activated daemon). */
  before?: Msg[];
}

/** A bus that answers each call with `respond` and delivers every message through 'message' first. */
function fakeClient(respond: (msg: dbus.Message) => Answer) {
  const bus = new EventEmitter() as EventEmitter & { call(msg: dbus.Message): Promise<dbus.Message> };
  let serial = 1;
  let replySerial = 500;
  const calls: string[] = [];
  bus.call = (msg) => {
    msg.serial = serial++;
    calls.push(msg.member);
    const answer = respond(msg);
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        for (const m of answer.before ?? []) bus.emit('message', m);
        const reply = {
          type: answer.error ? ERROR : METHOD_RETURN,
          sender: answer.sender,
          serial: replySerial++,
          replySerial: msg.serial,
          errorName: answer.error,
          body: answer.body ?? [],
        };
        bus.emit('message', reply);
        if (answer.error) reject(Object.assign(new Error(answer.error), { type: answer.error, text: '' }));
        else resolve(reply as unknown as dbus.Message);
      });
    });
  };
  const client: StorageClient = {
    bus: bus as unknown as dbus.MessageBus,
    interactive: false,
    closed: new Promise(() => undefined),
    disconnect: () => undefined,
  };
  const deliver = (m: Msg) => bus.emit('message', m);
  return { client, calls, deliver };
}

/**
 * A daemon that is not running until the Start call activates it as DAEMON (unless `owner` says it runs), and
 * answers GetAll with a running job. `following` resolves once the tracker has read the job.
 */
function daemonScript(opts: { owner?: string; startSender?: string; activate?: boolean } = {}) {
  let ready!: () => void;
  const following = new Promise<void>((r) => {
    ready = r;
  });
  const respond = (msg: dbus.Message): Answer => {
    switch (msg.member) {
      case 'AddMatch':
        return { sender: BUS_DRIVER };
      case 'GetNameOwner':
        return opts.owner
          ? { sender: BUS_DRIVER, body: [opts.owner] }
          : { sender: BUS_DRIVER, error: 'org.freedesktop.DBus.Error.NameHasNoOwner' };
      case 'StartPull':
        return {
          sender: opts.startSender ?? DAEMON,
          body: [7, JOB_PATH],
          before: opts.activate === false || opts.owner ? [] : [nameOwnerChanged('', DAEMON)],
        };
      case 'GetAll':
        setImmediate(() => setImmediate(ready));
        return { sender: DAEMON, body: [RUNNING] };
      default:
        return { sender: DAEMON, error: 'org.freedesktop.DBus.Error.UnknownMethod' };
    }
  };
  return { respond, following };
}

function pull(client: StorageClient) {
  return runJobCall(client, {
    member: 'StartPull',
    signature: 'ss',
    body: ['example.com/x:1', 'missing'],
    decode: (fetched) => fetched === true,
    signals: new EventEmitter(),
  });
}

/** Whether a promise is still pending after the fake bus has had time to deliver everything. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return !settled;
}

describe('NameOwnerTracker', () => {
  it('follows only the bus daemon’s NameOwnerChanged for its own name', () => {
    const t = new NameOwnerTracker('org.bootc.Storage');
    const seen: [string, string][] = [];
    t.onChange((a, b) => seen.push([a, b]));
    expect(t.owner).toBe('');
    expect(t.isFromOwner({ sender: '' } as dbus.Message)).toBe(false);
    t.answer(DAEMON);
    expect(t.owner).toBe(DAEMON);
    // Forged: the same signal from another connection, sent to our unique name.
    t.observe(nameOwnerChanged(DAEMON, FORGER, FORGER) as dbus.Message);
    // Another name's owner.
    t.observe(nameOwnerChanged('', FORGER, BUS_DRIVER, 'org.example.Other') as dbus.Message);
    // A method return that looks like one.
    t.observe({ ...nameOwnerChanged(DAEMON, FORGER), type: METHOD_RETURN } as dbus.Message);
    expect(t.owner).toBe(DAEMON);
    expect(t.isFromOwner({ sender: DAEMON } as dbus.Message)).toBe(true);
    expect(t.isFromOwner({ sender: FORGER } as dbus.Message)).toBe(false);
    t.observe(nameOwnerChanged(DAEMON, '') as dbus.Message);
    expect(t.owner).toBe('');
    expect(t.isFromOwner({ sender: DAEMON } as dbus.Message)).toBe(false);
    t.observe(nameOwnerChanged('', ':1.10') as dbus.Message);
    expect(seen).toEqual([
      ['', DAEMON],
      [DAEMON, ''],
      ['', ':1.10'],
    ]);
  });
});

describe('runJobCall believes only the daemon that answered', () => {
  it('ignores forged signals (and a forged owner) and ends with the real final state', async () => {
    const script = daemonScript();
    const { client, deliver } = fakeClient(script.respond);
    const result = pull(client);
    await script.following;
    deliver(propertiesChanged(FORGER, { State: variant('done'), Result: variant(variant(true)) }));
    deliver(nameOwnerChanged(DAEMON, FORGER, FORGER));
    deliver(propertiesChanged(FORGER, { State: variant('failed'), ErrorMessage: variant('attacker') }));
    expect(await pending(result)).toBe(true);
    deliver(propertiesChanged(DAEMON, { State: variant('done'), Result: variant(variant(false)) }));
    const outcome = await result;
    expect(outcome).toMatchObject({ outcome: 'done', value: false });
  });

  it('a daemon started by the call itself (no owner before) is followed', async () => {
    const script = daemonScript();
    const { client, deliver, calls } = fakeClient(script.respond);
    const result = pull(client);
    await script.following;
    deliver(propertiesChanged(DAEMON, { State: variant('done'), Result: variant(variant(true)) }));
    expect(await result).toMatchObject({ outcome: 'done', value: true });
    expect(calls).toContain('GetNameOwner');
  });

  it('the job is lost when its daemon leaves the bus', async () => {
    const script = daemonScript({ owner: DAEMON });
    const { client, deliver } = fakeClient(script.respond);
    const result = pull(client);
    await script.following;
    deliver(nameOwnerChanged(DAEMON, ''));
    await expect(result).rejects.toThrow(JobLost);
    await expect(result).rejects.toThrow(
      /^job 7 was lost: bootc-storaged \(:1\.9\) left the bus while it ran/,
    );
  });

  it('the job is lost when another connection takes the name', async () => {
    const script = daemonScript({ owner: DAEMON });
    const { client, deliver } = fakeClient(script.respond);
    const result = pull(client);
    await script.following;
    deliver(nameOwnerChanged(DAEMON, ':1.10'));
    // Even the new owner's word about job 7 is not the old daemon's.
    deliver(propertiesChanged(':1.10', { State: variant('done'), Result: variant(variant(true)) }));
    await expect(result).rejects.toThrow(/org\.bootc\.Storage passed from :1\.9 to :1\.10/);
  });

  it('a Start reply from anyone but the current owner is not believed', async () => {
    const script = daemonScript({ owner: DAEMON, startSender: ':1.77' });
    const { client } = fakeClient(script.respond);
    await expect(pull(client)).rejects.toThrow(JobLost);
  });
});
