// The one place a pull is decided (src/core/pull-decision.ts): answered from the view or fetched, for every
// policy, tag and digest, present or not; and what a fetched pull answers.

import { describe, expect, it } from 'vitest';
import { decidePull, fetchedResult, PULL_POLICIES, parsePullPolicy } from '../../src/core/pull-decision.js';
import type { ImageEntry } from '../../src/storage/parse-image-list.js';
import { parseReference } from '../../src/storage/reference.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const present: ImageEntry = {
  id: 'a'.repeat(64),
  names: ['quay.io/a/b:1'],
  digests: [],
  digest: DIGEST,
  size: 1,
  created: 0,
};
const tag = parseReference('quay.io/a/b:1');
const digest = parseReference(`quay.io/a/b@${DIGEST}`);

describe('decidePull', () => {
  it('answers without fetching exactly when the view settles it', () => {
    const rows = PULL_POLICIES.flatMap((policy) =>
      [tag, digest].flatMap((ref) =>
        [present, undefined].map((current) => {
          const d = decidePull(ref, policy, current);
          return [
            policy,
            ref.digest ? 'digest' : 'tag',
            current ? 'present' : 'absent',
            'answer' in d ? 'answer' : (d.fetch.before ?? 'fetch'),
          ];
        }),
      ),
    );
    expect(rows).toEqual([
      ['missing', 'tag', 'present', 'answer'],
      ['missing', 'tag', 'absent', 'fetch'],
      ['missing', 'digest', 'present', 'answer'],
      ['missing', 'digest', 'absent', 'fetch'],
      ['always', 'tag', 'present', present.id],
      ['always', 'tag', 'absent', 'fetch'],
      ['always', 'digest', 'present', 'answer'],
      ['always', 'digest', 'absent', 'fetch'],
      ['newer', 'tag', 'present', present.id],
      ['newer', 'tag', 'absent', 'fetch'],
      ['newer', 'digest', 'present', 'answer'],
      ['newer', 'digest', 'absent', 'fetch'],
    ]);
    expect(decidePull(tag, 'missing', present)).toEqual({ answer: { fetched: false, id: undefined } });
  });

  it('says a fetched `newer` pull fetched only when the ID changed; the others always fetched', () => {
    expect(fetchedResult('newer', 'x', 'x')).toEqual({ fetched: false, id: 'x' });
    expect(fetchedResult('newer', 'x', 'y')).toEqual({ fetched: true, id: 'y' });
    expect(fetchedResult('newer', undefined, 'y')).toEqual({ fetched: true, id: 'y' });
    expect(fetchedResult('always', 'x', 'x')).toEqual({ fetched: true, id: 'x' });
    expect(fetchedResult('missing', undefined, 'y')).toEqual({ fetched: true, id: 'y' });
  });

  it('takes only the three policies', () => {
    for (const p of PULL_POLICIES) expect(parsePullPolicy(p)).toBe(p);
    for (const bad of ['', 'Missing', '--force', 'never'])
      expect(() => parsePullPolicy(bad)).toThrow(expect.objectContaining({ name: 'InvalidArgument' }));
  });
});
