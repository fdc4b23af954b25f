// The per-caller memory of polkit's yes to the read action: only for its time to live, bounded with the
// oldest evicted first (expired ones before anyone), forgotten per caller and cleared at once.

import { describe, expect, it } from 'vitest';
import { ReadGrants } from '../../src/authz/read-grants.js';

function grantsAt(limits = { ttlMs: 1000, max: 3 }) {
  const clock = { now: 0 };
  return { grants: new ReadGrants(limits, () => clock.now), clock };
}

describe('read grants', () => {
  it('holds a grant for its time to live only', () => {
    const { grants, clock } = grantsAt();
    expect(grants.has(':1.1')).toBe(false);
    grants.grant(':1.1');
    clock.now = 999;
    expect(grants.has(':1.1')).toBe(true);
    clock.now = 1000;
    expect(grants.has(':1.1')).toBe(false);
    expect(grants.size).toBe(0);
  });

  it('renews a grant from the time it is given again', () => {
    const { grants, clock } = grantsAt();
    grants.grant(':1.1');
    clock.now = 900;
    grants.grant(':1.1');
    clock.now = 1800;
    expect(grants.has(':1.1')).toBe(true);
  });

  it('stays bounded: expired grants go first, then the oldest', () => {
    const { grants, clock } = grantsAt();
    grants.grant(':1.1');
    clock.now = 500;
    grants.grant(':1.2');
    grants.grant(':1.3');
    clock.now = 1200; // :1.1 expired
    grants.grant(':1.4');
    expect(grants.size).toBe(3);
    expect([':1.2', ':1.3', ':1.4'].map((n) => grants.has(n))).toEqual([true, true, true]);
    grants.grant(':1.5'); // full, nothing expired: the oldest (:1.2) goes
    expect(grants.size).toBe(3);
    expect([':1.2', ':1.3', ':1.4', ':1.5'].map((n) => grants.has(n))).toEqual([false, true, true, true]);
  });

  it('keeps no yes asked for before polkit said its answers changed', () => {
    const { grants } = grantsAt();
    const asked = grants.epoch;
    grants.clear(); // polkit's Changed arrives while the check is in flight
    grants.grant(':1.1', asked);
    expect(grants.has(':1.1')).toBe(false);
    grants.grant(':1.1', grants.epoch);
    expect(grants.has(':1.1')).toBe(true);
  });

  it('forgets one caller, or everyone', () => {
    const { grants } = grantsAt();
    grants.grant(':1.1');
    grants.grant(':1.2');
    grants.forget(':1.1');
    expect(grants.has(':1.1')).toBe(false);
    expect(grants.has(':1.2')).toBe(true);
    grants.clear();
    expect(grants.has(':1.2')).toBe(false);
  });
});
