// The job fields (jobs/job-fields.ts is the one list) as the contract's types see them, and the subsets the
// transports use: every transport publishes exactly these fields.

import { END_FIELD_NAMES, JOB_FIELDS as FIELDS, type JobFieldDef, propertyName } from '../jobs/job-fields.js';
import type { Field } from './contract.js';
import type { JobView } from './job-view.js';

/** A job field: `name` is its key in JobView. */
export interface JobField extends Field, Pick<JobFieldDef, 'progress' | 'streamed' | 'end'> {
  name: keyof JobView;
}

export const JOB_FIELDS: readonly JobField[] = FIELDS;

export { END_FIELD_NAMES, propertyName };

/** The job fields a streaming call (Varlink Pull with "more") sends in each progress reply, after `job`. */
export const STREAMED_FIELDS: readonly JobField[] = JOB_FIELDS.filter((f) => f.streamed);
