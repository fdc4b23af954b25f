// The daemon's image view: served from memory while the store is unchanged, never a list from before the
// current state, overlapping refreshes resolved newest-wins, digest-pinned lookups matched by digest only.

import { describe, expect, it } from 'vitest';
import { ImageView } from '../../src/core/image-view.js';
import type { ImageEntry } from '../../src/storage/parse-image-list.js';
import { parseReference } from '../../src/storage/reference.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const image = (id: string, names: string[], digest: string): ImageEntry => ({
  id,
  names,
  digests: names.map((n) => `${n.split(':')[0]}@sha256:${digest}`),
  digest: `sha256:${digest}`,
  size: 1,
  created: 1,
});

/** A store whose token and list answers the test controls; each list() call waits until released. */
function fakeStore() {
  let token = 't1';
  const pending: { resolve: (v: ImageEntry[]) => void }[] = [];
  return {
    store: {
      changeToken: () => token,
      list: () => new Promise<ImageEntry[]>((resolve) => pending.push({ resolve })),
    },
    setToken: (t: string) => {
      token = t;
    },
    pending,
  };
}

describe('ImageView', () => {
  it('answers from memory while the token is unchanged, re-reads when it moved', async () => {
    const f = fakeStore();
    const view = new ImageView(f.store);
    const first = view.get();
    f.pending.shift()?.resolve([image(A, ['quay.io/x/a:1'], A)]);
    expect((await first).map((i) => i.id)).toEqual([A]);
    expect((await view.get()).map((i) => i.id)).toEqual([A]);
    expect(f.pending).toHaveLength(0); // no podman call for the second read
    f.setToken('t2');
    const again = view.get();
    expect(f.pending).toHaveLength(1);
    f.pending.shift()?.resolve([]);
    expect(await again).toEqual([]);
  });

  it('never hands a reader a list started before the current state (our own write)', async () => {
    const f = fakeStore();
    const view = new ImageView(f.store);
    const stale = view.get(); // a read starts a refresh at t1…
    f.setToken('t2'); // …then our pull lands
    const fresh = view.get(); // the next read must not join the t1 refresh
    expect(f.pending).toHaveLength(2);
    f.pending[1]?.resolve([image(A, ['quay.io/x/a:1'], A)]);
    f.pending[0]?.resolve([]); // the older list finishes last
    expect((await fresh).map((i) => i.id)).toEqual([A]);
    await stale;
    expect((await view.get()).map((i) => i.id)).toEqual([A]); // the older list did not overwrite the view
    expect(f.pending).toHaveLength(2);
  });

  it('matches a digest-pinned reference by its digest only', async () => {
    const f = fakeStore();
    const view = new ImageView(f.store);
    const ready = view.get();
    f.pending.shift()?.resolve([image(A, ['quay.io/x/a:1'], A)]);
    await ready;
    expect((await view.find(parseReference('quay.io/x/a:1')))?.id).toBe(A);
    expect((await view.find(parseReference(`quay.io/x/a@sha256:${A}`)))?.id).toBe(A);
    expect((await view.find(parseReference(`quay.io/x/a:1@sha256:${A}`)))?.id).toBe(A);
    // The tag points at A, but the caller pinned B: not present.
    expect(await view.find(parseReference(`quay.io/x/a:1@sha256:${B}`))).toBeUndefined();
  });
});
