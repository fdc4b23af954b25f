// Operations on jobs themselves.

import { ACTION_CANCEL_FOREIGN } from '../../authz/actions.js';
import * as z from '../../schema.js';
import { defineOperation } from '../contract.js';
import { T } from '../wire-types.js';

export const CANCEL_JOB = defineOperation({
  name: 'CancelJob',
  kind: 'cancel',
  doc: `Asks a job to stop. Identical requests share one job, so a caller that submitted or joined it (its connection, else any connection of its uid) withdraws only itself: its own call fails with Canceled, and the job goes on for the callers that still want it. When the last one withdraws, or when anyone else cancels (cancel-foreign), the job stops for everyone: a queued job is dropped at once, a running one has its podman process stopped, and every call waiting for it fails with Canceled. Replies as soon as the cancellation is requested. Some of a canceled Remove or Prune may already have happened.`,
  dbusDoc: `The job's end is announced by JobRemoved (result "canceled", or "done" or "failed" if it finished first). Job.Cancel on the job's object does the same.`,
  in: [{ name: 'id', type: T.uint, doc: "The job's id." }],
  out: [],
  input: z.tuple([z.int().check(z.nonnegative(), z.maximum(0xffffffff))]),
  access: { ownerOr: ACTION_CANCEL_FOREIGN },
  errors: ['NotFound (no such job, or it has already ended)'],
  run: async (service, [id], caller) => ({
    value: await service.cancelFor(service.getJob(id), caller, ACTION_CANCEL_FOREIGN),
  }),
  toDBus: () => [],
  toVarlink: () => ({}),
});
