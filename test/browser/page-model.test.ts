// The page's model (cockpit/src/model.ts) under Node: the D-Bus replies as cockpit.js hands them over, the job
// table kept from ObjectManager signals, error names in words, and who needs each image.

import { describe, expect, it } from 'vitest';
import {
  applyJobProps,
  describeError,
  errorLabel,
  formatAge,
  formatBytes,
  type Job,
  JobTable,
  jobDetail,
  jobPercent,
  jobTitle,
  parseBoundImages,
  parseImages,
  resultText,
  shortDeployment,
  unwrap,
  usagesByImage,
} from '../../cockpit/src/model.js';

const JOB = 'org.bootc.Storage.Job';
const dep = (c: string, serial = 0) => `${c.repeat(64)}.${serial}`;
const v = (t: string, value: unknown) => ({ t, v: value });

describe('the job table', () => {
  it('follows GetManagedObjects, InterfacesAdded, PropertiesChanged and InterfacesRemoved', () => {
    const jobs = new JobTable();
    jobs.load({
      '/org/bootc/Storage/job/1': {
        [JOB]: {
          Id: v('u', 1),
          Kind: v('s', 'pull'),
          Target: v('s', 'quay.io/x:1'),
          State: v('s', 'running'),
        },
      },
      '/org/bootc/Storage': { 'org.bootc.Storage': { Version: v('s', '0.1.0') } },
    });
    expect(jobs.list().map((j) => j.id)).toEqual([1]);
    expect(
      jobs.added('/org/bootc/Storage/job/2', { [JOB]: { Id: v('u', 2), State: v('s', 'queued') } }),
    ).toBe(true);
    expect(jobs.added('/org/bootc/Storage/job/9', { 'org.example.Other': {} })).toBe(false);
    expect(jobs.list().map((j) => j.id)).toEqual([2, 1]);
    // A property of type v arrives as a variant in a variant.
    expect(
      jobs.changed('/org/bootc/Storage/job/1', JOB, {
        State: v('s', 'done'),
        Progress: v('d', 1),
        Result: v('v', v('b', true)),
      }),
    ).toBe(true);
    expect(jobs.get('/org/bootc/Storage/job/1')).toMatchObject({ state: 'done', progress: 1, result: true });
    expect(jobs.changed('/org/bootc/Storage/job/7', JOB, { State: v('s', 'done') })).toBe(false);
    expect(jobs.removed('/org/bootc/Storage/job/1', [JOB])).toBe(true);
    expect(jobs.list().map((j) => j.id)).toEqual([2]);
  });

  it('unwraps nested variants and ignores unknown properties', () => {
    expect(unwrap(v('v', v('as', ['a'])))).toEqual(['a']);
    const job = applyJobProps(undefined, '/org/bootc/Storage/job/5', { Unknown: v('s', 'x') });
    expect(job.id).toBe(5);
  });
});

describe('words and numbers', () => {
  it('names the daemon’s errors as the page shows them', () => {
    expect(errorLabel('org.bootc.Storage.Error.InvalidReference')).toBe('Invalid reference');
    expect(errorLabel('org.bootc.Storage.Error.SomethingNew')).toBe('Something New');
    expect(errorLabel('org.freedesktop.DBus.Error.AccessDenied')).toBe('Not authorized');
    expect(describeError('org.bootc.Storage.Error.Busy', 'the queue is full')).toBe(
      'Busy: the queue is full',
    );
    expect(describeError('org.freedesktop.DBus.Error.AccessDenied', '')).toBe('Not authorized');
  });

  it('formats sizes, ages and deployment names', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(25_169_093)).toBe('25 MB');
    expect(formatAge(1000, 1000_000 + 3 * 86_400_000)).toBe('3 days ago');
    expect(formatAge(1000, 1000_000 + 30_000)).toBe('just now');
    expect(shortDeployment(dep('a', 2))).toBe(`${'a'.repeat(12)}.2`);
    expect(shortDeployment('c'.repeat(64))).toBe('c'.repeat(12)); // a pending update: its commit
  });

  it('describes a job’s progress and its end', () => {
    const base = applyJobProps(undefined, '/org/bootc/Storage/job/3', {
      Kind: v('s', 'sync'),
      Target: v('s', dep('b')),
      State: v('s', 'running'),
      Progress: v('d', 0.42),
      BytesDone: v('t', 1_000_000),
      BytesTotal: v('t', 3_000_000),
      ItemsDone: v('u', 0),
      ItemsTotal: v('u', 2),
      Item: v('s', 'quay.io/a:1'),
      Attempt: v('u', 2),
    });
    expect(jobTitle(base)).toBe(`Pull bound images of ${'b'.repeat(12)}.0`);
    expect(jobPercent(base)).toBe(42);
    expect(jobDetail(base)).toBe('image 1 of 2: quay.io/a:1 · 1.0 MB of 3.0 MB · attempt 2');
    const done: Job = { ...base, state: 'done', result: ['quay.io/a:1', 'quay.io/b:2'] };
    expect(jobPercent(done)).toBe(100);
    expect(resultText(done)).toBe('Pulled 2 images');
    const failed: Job = {
      ...base,
      state: 'failed',
      errorName: 'org.bootc.Storage.Error.PullFailed',
      errorMessage: 'manifest unknown',
    };
    expect(jobDetail(failed)).toBe('Pull failed: manifest unknown');
    expect(jobPercent({ ...base, progress: -1 })).toBeUndefined();
    expect(jobTitle({ ...base, kind: 'remove', target: `${'c'.repeat(64)} quay.io/x:1` })).toBe(
      `Remove ${'c'.repeat(12)} quay.io/x:1`,
    );
  });
});

describe('who needs an image', () => {
  it('combines the bound images and every reason of the GC preview', () => {
    const images = parseImages([
      [
        ['i1', ['quay.io/db:1'], 'sha256:1', 10, 100],
        ['i2', ['quay.io/os:42'], 'sha256:2', 20, 200],
        ['i3', [], 'sha256:3', 30, 300],
      ],
    ]);
    const bound = parseBoundImages([
      [
        ['quay.io/db:1', dep('a'), 'usr/lib/bootc/bound-images.d/db.image', true],
        ['quay.io/db:1', dep('b'), 'usr/lib/bootc/bound-images.d/db.image', true],
      ],
    ]);
    const preview = [
      {
        id: 'i1',
        kept: true,
        reason: `bound by ${dep('a')} (usr/lib/bootc/bound-images.d/db.image); bound by ${dep('b')} (usr/lib/bootc/bound-images.d/db.image)`,
      },
      { id: 'i2', kept: true, reason: `host image of ${dep('a')}` },
      { id: 'i3', kept: false, reason: 'referenced by no deployment' },
    ];
    const uses = usagesByImage(images, bound, preview);
    expect(uses.get('i1')?.map((u) => u.kind)).toEqual(['bound', 'bound']);
    expect(uses.get('i2')).toEqual([{ kind: 'host', deployment: dep('a') }]);
    expect(uses.get('i3')).toEqual([{ kind: 'unused' }]);
  });
});
