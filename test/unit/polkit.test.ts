// The polkit client's limits, against a fake bus: a per-caller cap, interactive checks outside the shared
// pool (a person can take minutes), and time limits that cancel the check at polkitd and fail closed.

import type dbus from 'dbus-next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PolkitAuthority } from '../../src/authz/polkit.js';

interface Call {
  member: string;
  body: unknown[];
  answer: (authorized: boolean, challenge?: boolean) => void;
}

function fakeBus() {
  const calls: Call[] = [];
  const bus = {
    call: (msg: dbus.Message) =>
      new Promise<dbus.Message>((resolve) => {
        calls.push({
          member: msg.member ?? '',
          body: msg.body,
          answer: (authorized, challenge = false) =>
            resolve({ body: [[authorized, challenge, {}]] } as unknown as dbus.Message),
        });
      }),
  };
  return { bus: bus as unknown as dbus.MessageBus, calls };
}

const req = (sender: string, interactive = false) => ({
  sender,
  action: 'org.bootc.storage.pull' as const,
  details: { image: 'quay.io/x/y:z' },
  interactive,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('PolkitAuthority limits', () => {
  it('refuses a caller its fifth pending interactive check with Busy, while others go on', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const held = Array.from({ length: 4 }, () => authority.authorize(req(':1.9', true)));
    await expect(authority.authorize(req(':1.9', true))).rejects.toMatchObject({ name: 'Busy' });
    const other = authority.authorize(req(':1.10'));
    await vi.waitFor(() => expect(calls).toHaveLength(5));
    calls[4]?.answer(true);
    await expect(other).resolves.toBeUndefined();
    for (const c of calls.slice(0, 4)) c.answer(false, true);
    const results = await Promise.allSettled(held);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(authority.pending).toBe(0);
  });

  it('keeps interactive checks out of the shared pool', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    // 20 people are each looking at a password dialog (4 per caller, 5 callers).
    const waiting = Array.from({ length: 20 }, (_, i) =>
      authority.authorize(req(`:1.${100 + (i % 5)}`, true)),
    );
    const quick = authority.authorize(req(':1.200'));
    await vi.waitFor(() => expect(calls).toHaveLength(21));
    calls[20]?.answer(true);
    await expect(quick).resolves.toBeUndefined();
    for (const c of calls.slice(0, 20)) c.answer(true);
    await Promise.all(waiting);
  });

  it('lets one caller have many quick (non-interactive) checks at once, 16 at a time', async () => {
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const checks = Array.from({ length: 40 }, () => authority.authorize(req(':1.11')));
    await vi.waitFor(() => expect(calls).toHaveLength(16));
    let answered = 0;
    while (answered < 40) {
      await vi.waitFor(() => expect(calls.length).toBeGreaterThan(0));
      calls.shift()?.answer(true);
      answered += 1;
    }
    await Promise.all(checks);
    expect(authority.pending).toBe(0);
  });

  it('fails closed after the time limit and cancels the check at polkitd', async () => {
    vi.useFakeTimers();
    const { bus, calls } = fakeBus();
    const authority = new PolkitAuthority(bus);
    const check = authority.authorize(req(':1.7'));
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
    const check = authority.authorize(req(':1.8', false));
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    calls[0]?.answer(false, true);
    await expect(check).rejects.toMatchObject({ name: 'InteractiveAuthorizationRequired' });
  });
});
