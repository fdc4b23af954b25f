// Job handles, as importd and rpm-ostree give them: Start<Method> takes the blocking method's arguments, asks
// the same polkit action, queues (or joins) the same job, and replies at once with the job's id and object.
// The job is then watched (PropertiesChanged, ObjectManager) and read late (Result, ErrorName).

import { createError } from '../../errors.js';
import { defineOperation, jobObjectPath, type Operation } from '../contract.js';
import type { Job } from '../job-view.js';
import type { StorageService } from '../storage-service.js';
import { T } from '../wire-types.js';

/** The Start variant of a job operation; `run` may be given when the blocking one answers some calls at once. */
export function startOf(op: Operation, run?: Operation['run']): Operation {
  const call = run ?? op.run.bind(op);
  return defineOperation({
    name: `Start${op.name}`,
    kind: 'job',
    handle: true,
    jobKind: op.jobKind,
    doc: `Starts what ${op.name} does, as a job, and replies as soon as the job is queued (or an identical queued or running one is joined): the job's id and object. Follow it with PropertiesChanged on that object (or the ObjectManager signals, or ListJobs / GetJob over Varlink); after it ends it stays readable for at least 60 s with State, Result, ErrorName and ErrorMessage.`,
    in: op.in,
    out: [
      { name: 'id', type: T.uint, doc: "The job's id (CancelJob takes it)." },
      { name: 'job', type: T.path, doc: "The job's object, /org/bootc/Storage/job/<id>." },
    ],
    input: op.input,
    access: op.access,
    details: op.details?.bind(op),
    errors: op.errors.filter((e) => !e.startsWith('Canceled')),
    pulling: op.pulling,
    run: async (service: StorageService, input: unknown[], caller) => {
      const outcome = await call(service, input, caller);
      if (!('job' in outcome)) throw createError('StorageFailure', `${op.name} made no job to follow`);
      return { value: outcome.job };
    },
    toDBus: (job: Job) => [job.id, jobObjectPath(job.id)],
    toVarlink: (job: Job) => ({ id: job.id, job: jobObjectPath(job.id) }),
  }) as unknown as Operation;
}
