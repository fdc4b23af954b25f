// The one list of a job's fields (src/jobs/job-fields.ts): a job's snapshot is exactly its non-end fields, a
// job's work can report exactly its progress fields, and every field's D-Bus property is its name capitalized.

import { expect, it } from 'vitest';
import { viewJob } from '../../src/core/job-view.js';
import { Job } from '../../src/jobs/job.js';
import {
  JOB_FIELDS,
  PROGRESS_FIELD_NAMES,
  propertyName,
  SNAPSHOT_FIELD_NAMES,
} from '../../src/jobs/job-fields.js';

it("a job's snapshot has exactly the list's fields but the end ones, with the job's values", () => {
  const job = new Job<number>({
    id: 7,
    kind: 'pull',
    target: 'quay.io/a/b:1',
    owner: 1000,
    key: 'k',
    work: async () => 1,
  });
  const snap = job.snapshot();
  expect(Object.keys(snap)).toEqual([...SNAPSHOT_FIELD_NAMES]);
  expect(snap).toMatchObject({
    id: 7,
    kind: 'pull',
    target: 'quay.io/a/b:1',
    owner: 1000,
    state: 'queued',
    attempt: 1,
  });
  expect(SNAPSHOT_FIELD_NAMES).not.toContain('result');
  expect(JOB_FIELDS.filter((f) => 'end' in f).map((f) => f.name)).toEqual([
    'result',
    'errorName',
    'errorMessage',
  ]);
});

it('the progress fields are snapshot fields, and each property is the name capitalized', () => {
  for (const name of PROGRESS_FIELD_NAMES) expect(SNAPSHOT_FIELD_NAMES).toContain(name);
  expect(JOB_FIELDS.map(propertyName).slice(0, 4)).toEqual(['Id', 'Kind', 'Target', 'State']);
  expect(new Set(JOB_FIELDS.map((f) => f.name)).size).toBe(JOB_FIELDS.length);
});

it("a job's view (what every transport shows) is its snapshot with numbers every wire can carry", () => {
  const job = new Job<number>({ id: 3, kind: 'pull', target: 'x', owner: 0, key: 'k', work: async () => 1 });
  const fields = job as unknown as Record<string, unknown>;
  Object.assign(fields, {
    progress: Number.NaN,
    bytesDone: -5,
    bytesTotal: 2 ** 60,
    layersDone: 2.7,
    attempt: 0,
    itemsDone: Number.POSITIVE_INFINITY,
  });
  const v = viewJob(job);
  expect(Object.keys(v)).toEqual([...SNAPSHOT_FIELD_NAMES, 'errorName', 'errorMessage']);
  expect(v).toMatchObject({
    id: 3,
    progress: -1,
    bytesDone: 0,
    bytesTotal: Number.MAX_SAFE_INTEGER,
    layersDone: 2,
    attempt: 1,
    itemsDone: 0,
    errorName: '',
    errorMessage: '',
  });
});
