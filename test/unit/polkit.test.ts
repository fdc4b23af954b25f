// The polkit client's limits, against a fake bus that answers GetConnectionUnixUser (many bus names may belong
// to one uid) and records CheckAuthorization calls: per-uid caps on dialogs and quick checks, root never
// counted nor asked, reads never interactive, a fair quick-check pool, and time limits that cancel the check at
// polkitd and fail closed.

import type dbus from 'dbus-next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuthorizationRequest, POLKIT_LIMITS, PolkitAuthority } from '../../src/authz/polkit.js';

interface Call {
  member: string;
  body: unknown[];
  /** The subject's bus name (CheckAuthorization only). */
  sender: string;
  answer: (authorized: boolean, challenge?: boolean) => void;
}

/** Bus names look like `:<uid>.<n>` so a test can give one uid as many names as it likes. */
const uidOf = (sender: string) => Number(/^:(\d+)\./.exec(sender)?.[1] ?? Number.NaN);

function fakeBus() {
  const calls: Call[] = [];
  let uidLookups = 0;
  const bus = {
    call: (msg: dbus.Message) => {
      if (msg.member === 'GetConnectionUnixUser') {
        uidLookups += 1;
        const uid = uidOf(String(msg.body[0]));
        if (Number.isNaN(uid)) return Promise.reject(new Error('org.freedesktop.DBus.Error.NameHasNoOwner'));
        return Promise.resolve({ body: [uid] } as unknown as dbus.Message);
      }
      return new Promise<dbus.Message>((resolve) => {
        const subject = msg.body[0] as [string, { name?: { value: string } }] | undefined;
        calls.push({
          member: msg.member ?? '',
          body: msg.body,
          sender: msg.member === 'CheckAuthorization' ? (subject?.[1].name?.value ?? '') : '',
          answer: (authorized, challenge = false) =>
            resolve({ body: [[authorized, challenge, {}]] } as unknown as dbus.Message),
        });
      });
    },
  };
  return { bus: bus as unknown as dbus.MessageBus, calls, lookups: () => uidLookups };
}

const pull = (sender: string, interactive = false): AuthorizationRequest => ({
  sender,
  action: 'org.bootc.storage.pull',
  details: { image: 'quay.io/x/y:z' },
  interactive,
});
const read = (sender: string, interactive = false): AuthorizationRequest => ({
  sender,
  action: 'org.bootc.storage.read',
  interactive,
});
/** What became of a promise, without waiting for it. */
function track(p: Promise<void>) {
  const state = { settled: false, error: undefined as string | undefined };
  p.then(
    () => {
      state.settled = true;
    },
    (e: Error) => {
      state.settled = true;
      state.error = e.name;
    },
  );
  return state;
}
/** Lets every pending microtask and uid lookup run. */
const settle = () => new Promise((r) => setImmediate(r));
const FLOOD = 1000;
const OTHER = 1001;

afterEach(() => {
  vi.useRealTimers();
});

describe('PolkitAuthority limits, per uid', () => {
  it('refuses a uid its fifth pending dialog with Busy, whatever bus names it uses, while others go on', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const held = Array.from({ length: 4 }, (_, i) => authority.authorize(pull(`:${FLOOD}.${i}`, true)));
    await vi.waitFor(() => expect(calls).toHaveLength(4));
    await expect(authority.authorize(pull(`:${FLOOD}.99`, true))).rejects.toMatchObject({ name: 'Busy' });
    const other = authority.authorize(pull(`:${OTHER}.1`, true));
    await vi.waitFor(() => expect(calls).toHaveLength(5));
    calls[4]?.answer(true);
    await expect(other).resolves.toBeUndefined();
    for (const c of calls.slice(0, 4)) c.answer(false, true);
    const results = await Promise.allSettled(held);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(authority.pending).toBe(0);
    // The dialogs are gone, so the same uid may ask again.
    const again = authority.authorize(pull(`:${FLOOD}.100`, true));
    await vi.waitFor(() => expect(calls).toHaveLength(6));
    calls[5]?.answer(true);
    await expect(again).resolves.toBeUndefined();
  });

  it('survives a flood from one uid over many bus names: other users and root are answered without waiting', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    // 100 pulls that each want a dialog, and 200 quick checks, from 300 connections of one user; none answered.
    const dialogs = Array.from({ length: 100 }, (_, i) =>
      track(authority.authorize(pull(`:${FLOOD}.${i}`, true))),
    );
    const quick = Array.from({ length: 200 }, (_, i) =>
      track(authority.authorize(read(`:${FLOOD}.${100 + i}`))),
    );
    await settle();
    const { checks, dialogsPerUid } = POLKIT_LIMITS;
    // Busy for its own excess only: 4 dialogs pending, 4 quick checks at polkitd, 64 queued, the rest Busy.
    expect(dialogs.filter((d) => d.error === 'Busy')).toHaveLength(100 - dialogsPerUid);
    expect(quick.filter((d) => d.error === 'Busy')).toHaveLength(200 - checks.perUid - checks.queuedPerUid);
    expect(calls).toHaveLength(dialogsPerUid + checks.perUid);
    const flooded = calls.length;

    // Another user: a read and a dialog each reach polkitd at once, with none of the flood answered.
    const otherRead = authority.authorize(read(`:${OTHER}.1`));
    const otherPull = authority.authorize(pull(`:${OTHER}.2`, true));
    await vi.waitFor(() => expect(calls).toHaveLength(flooded + 2));
    expect(
      calls
        .slice(flooded)
        .map((c) => c.sender)
        .sort(),
    ).toEqual([`:${OTHER}.1`, `:${OTHER}.2`]);
    for (const c of calls.slice(flooded)) c.answer(true);
    await expect(otherRead).resolves.toBeUndefined();
    await expect(otherPull).resolves.toBeUndefined();

    // Root: interactive pulls and reads are allowed without polkitd being asked at all.
    await expect(
      Promise.all([
        authority.authorize(pull(':0.1', true)),
        authority.authorize(pull(':0.2', false)),
        authority.authorize(read(':0.3', true)),
      ]),
    ).resolves.toEqual([undefined, undefined, undefined]);
    expect(calls).toHaveLength(flooded + 2);

    // The flood drains: answering everything settles every check, and nothing stays pending.
    while (calls.some((c) => c.member === 'CheckAuthorization')) {
      for (const c of calls.splice(0)) c.answer(false);
      await settle();
    }
    expect([...dialogs, ...quick].every((d) => d.settled)).toBe(true);
    expect(authority.pending).toBe(0);
  });

  it('never makes root Busy nor wait, even with every dialog and every quick-check slot taken', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const { checks, dialogsPerUid, dialogsTotal } = POLKIT_LIMITS;
    // dialogsTotal / dialogsPerUid users each hold their share of dialogs; four users fill the quick pool.
    for (let u = 0; u < dialogsTotal / dialogsPerUid; u++) {
      for (let i = 0; i < dialogsPerUid; i++)
        void authority.authorize(pull(`:${2000 + u}.${i}`, true)).catch(() => {});
    }
    for (let u = 0; u < checks.total / checks.perUid; u++) {
      for (let i = 0; i < 20; i++) void authority.authorize(read(`:${3000 + u}.${i}`)).catch(() => {});
    }
    await settle();
    expect(calls).toHaveLength(dialogsTotal + checks.total);
    // The safety net is reached: a further user's dialog is Busy (its read would queue).
    await expect(authority.authorize(pull(':4000.1', true))).rejects.toMatchObject({ name: 'Busy' });
    const root = Array.from({ length: 500 }, (_, i) =>
      authority.authorize(i % 2 ? pull(`:0.${i}`, true) : read(`:0.${i}`)),
    );
    await expect(Promise.all(root)).resolves.toHaveLength(500);
    expect(calls).toHaveLength(dialogsTotal + checks.total);
    while (calls.length > 0) {
      for (const c of calls.splice(0)) c.answer(false);
      await settle();
    }
    expect(authority.pending).toBe(0);
  });

  it('never asks interactively for the read action, and does not count reads as dialogs', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const dialogs = Array.from({ length: 4 }, (_, i) => authority.authorize(pull(`:${FLOOD}.${i}`, true)));
    const reads = Array.from({ length: 4 }, (_, i) => authority.authorize(read(`:${FLOOD}.${10 + i}`, true)));
    await vi.waitFor(() => expect(calls).toHaveLength(8));
    const flags = (c: Call) => c.body[3];
    const action = (c: Call) => c.body[1];
    expect(calls.filter((c) => action(c) === 'org.bootc.storage.read').map(flags)).toEqual([0, 0, 0, 0]);
    expect(calls.filter((c) => action(c) === 'org.bootc.storage.pull').map(flags)).toEqual([1, 1, 1, 1]);
    for (const c of calls) c.answer(true);
    await Promise.all([...dialogs, ...reads]);
    // A read that polkit would only allow after authentication is refused outright, never prompted for.
    const guarded = authority.authorize(read(`:${FLOOD}.20`, true));
    await vi.waitFor(() => expect(calls).toHaveLength(9));
    calls[8]?.answer(false, true);
    await expect(guarded).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('keeps interactive checks out of the shared pool', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    // 20 people are each looking at a password dialog (4 per uid, 5 users).
    const waiting = Array.from({ length: 20 }, (_, i) =>
      authority.authorize(pull(`:${100 + (i % 5)}.${i}`, true)),
    );
    await vi.waitFor(() => expect(calls).toHaveLength(20));
    const quick = authority.authorize(pull(':200.1'));
    await vi.waitFor(() => expect(calls).toHaveLength(21));
    calls[20]?.answer(true);
    await expect(quick).resolves.toBeUndefined();
    for (const c of calls.slice(0, 20)) c.answer(true);
    await Promise.all(waiting);
  });

  it('lets one uid have many quick checks, 4 at a time, in its own order', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const checks = Array.from({ length: 40 }, (_, i) => authority.authorize(pull(`:11.${i}`)));
    await vi.waitFor(() => expect(calls).toHaveLength(POLKIT_LIMITS.checks.perUid));
    const order: string[] = [];
    while (order.length < 40) {
      await settle();
      expect(calls.length).toBeLessThanOrEqual(POLKIT_LIMITS.checks.perUid);
      const c = calls.shift()!;
      order.push(c.sender);
      c.answer(true);
    }
    expect(order).toEqual(Array.from({ length: 40 }, (_, i) => `:11.${i}`));
    await Promise.all(checks);
    expect(authority.pending).toBe(0);
  });

  it('shares a full quick-check pool fairly: a newcomer gets the next free slot, before the floods', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const { total, perUid } = POLKIT_LIMITS.checks;
    const floods = Array.from({ length: total / perUid }, (_, u) => 500 + u); // they fill the pool
    const all: Promise<void>[] = [];
    for (const u of floods) for (let i = 0; i < 10; i++) all.push(authority.authorize(read(`:${u}.${i}`)));
    await settle();
    expect(calls).toHaveLength(total);
    all.push(authority.authorize(read(':600.0')), authority.authorize(read(':600.1')));
    all.push(authority.authorize(read(':700.0')));
    await settle();
    expect(calls).toHaveLength(total); // nothing free yet
    const started = () => calls.slice(total).map((c) => c.sender);
    // Each answer frees one slot; who gets it: the waiting uid that holds the fewest, ties in turn.
    const answerOne = async (sender: string) => {
      calls.find((c) => c.sender === sender)!.answer(true);
      await settle();
    };
    await answerOne(':500.0');
    expect(started()).toEqual([':600.0']);
    await answerOne(':501.0');
    expect(started()).toEqual([':600.0', ':700.0']);
    await answerOne(':502.0');
    expect(started()).toEqual([':600.0', ':700.0', ':600.1']);
    // The newcomers are served; now the floods take turns (500 has waited longest).
    await answerOne(':503.0');
    expect(started().slice(3)).toEqual([':500.4']);
    await answerOne(':600.0');
    expect(started().slice(3)).toEqual([':500.4', ':501.4']);
    while (calls.length > 0) {
      for (const c of calls.splice(0)) c.answer(true);
      await settle();
    }
    await Promise.all(all);
    expect(authority.pending).toBe(0);
  });

  it('refuses a caller the bus cannot identify, without asking polkitd', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    await expect(authority.authorize(pull(':gone.1', true))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(calls).toHaveLength(0);
    expect(authority.pending).toBe(0);
  });

  it('fails closed after the time limit and cancels the check at polkitd', async () => {
    vi.useFakeTimers();
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const check = authority.authorize(pull(':7.1'));
    const outcome = check.then(
      () => 'allowed',
      (e: Error) => e.name,
    );
    await vi.advanceTimersByTimeAsync(25_001);
    expect(await outcome).toBe('AccessDenied');
    const [first, cancel] = calls;
    expect(first?.member).toBe('CheckAuthorization');
    expect(cancel?.member).toBe('CancelCheckAuthorization');
    expect(cancel?.body).toEqual([first?.body[4]]);
    expect(String(first?.body[4])).toMatch(/^bootc-storaged-/);
    expect(authority.pending).toBe(0);
  });

  it('says InteractiveAuthorizationRequired when polkit would ask but the caller did not allow it', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const check = authority.authorize(pull(':8.1', false));
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    calls[0]?.answer(false, true);
    await expect(check).rejects.toMatchObject({ name: 'InteractiveAuthorizationRequired' });
  });
});
