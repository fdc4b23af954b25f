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
    grants.grant(':1.1', {}, asked);
    expect(grants.has(':1.1')).toBe(false);
    grants.grant(':1.1', {}, grants.epoch);
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

  it('answers only the question it was given for: other details ask polkit again', () => {
    const { grants } = grantsAt({ ttlMs: 1000, max: 16 });
    grants.grant(':1.1', { image: 'quay.io/a/b:1' });
    expect(grants.has(':1.1', { image: 'quay.io/a/b:1' })).toBe(true);
    expect(grants.has(':1.1', { image: 'quay.io/a/c:1' })).toBe(false);
    expect(grants.has(':1.1')).toBe(false);
    // The key does not depend on the order the details were written in.
    grants.grant(':1.1', { b: '2', a: '1' });
    expect(grants.has(':1.1', { a: '1', b: '2' })).toBe(true);
  });

  it('stays bounded when one caller asks about ever more images, evicting its own oldest questions', () => {
    const { grants } = grantsAt({ ttlMs: 1000, max: 8 });
    grants.grant(':1.9');
    for (let i = 0; i < 100; i++) grants.grant(':1.1', { image: `x/${i}` });
    expect(grants.size).toBe(8);
    expect(grants.has(':1.1', { image: 'x/99' })).toBe(true);
    expect(grants.has(':1.1', { image: 'x/0' })).toBe(false);
    expect(grants.has(':1.9')).toBe(false); // the older caller went first
    grants.forget(':1.1');
    expect(grants.size).toBe(0);
  });

  it('authorize asks only when no grant answers, and remembers only a yes', async () => {
    const { grants } = grantsAt();
    let asked = 0;
    const yes = async () => {
      asked += 1;
    };
    const no = async () => {
      asked += 1;
      throw new Error('denied');
    };
    await grants.authorize('varlink:1', { image: 'a' }, yes);
    await grants.authorize('varlink:1', { image: 'a' }, yes);
    expect(asked).toBe(1);
    await expect(grants.authorize('varlink:2', {}, no)).rejects.toThrow('denied');
    await expect(grants.authorize('varlink:2', {}, no)).rejects.toThrow('denied');
    expect(asked).toBe(3);
  });
});
