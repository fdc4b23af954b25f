// The read operations: answered from the image view (or the job list), never queued, never interactive.

import { ACTION_READ } from '../../authz/actions.js';
import { createError } from '../../errors.js';
import * as z from '../../schema.js';
import { parseReference } from '../../storage/reference.js';
import { defineOperation, jobObjectPath } from '../contract.js';
import { toCount } from '../job-view.js';
import { projectJob } from '../job-wire.js';
import { MAX_REFERENCE_LENGTH } from '../targets.js';
import { T } from '../wire-types.js';

/** An image argument as the schema bounds it (the core then parses it as a reference). */
export const imageArg = z.string().check(z.maxLength(MAX_REFERENCE_LENGTH * 4));
/**
 * An image reference, parsed once, here at the boundary (InvalidReference for a bad one): polkit's details,
 * the core and the engine all take the parsed ImageReference, never the caller's string.
 */
export const referenceArg = z.pipe(imageArg, z.transform(parseReference));

const IMAGE_DOC = 'Fully-qualified reference (see "Image references").';

export const EXISTS = defineOperation({
  name: 'Exists',
  kind: 'read',
  doc: 'Tells whether an image is in the store, without touching the network.',
  in: [{ name: 'image', type: T.string, doc: IMAGE_DOC }],
  out: [{ name: 'present', type: T.bool, doc: 'True when the reference names an image in the store.' }],
  input: z.tuple([referenceArg]),
  access: { action: ACTION_READ },
  details: ([ref]) => ({ image: ref.canonical }),
  errors: ['InvalidReference', 'StorageFailure', 'StoreUnavailable'],
  run: async (service, [ref]) => ({ value: await service.exists(ref) }),
  toDBus: (present) => [present],
  toVarlink: (present) => ({ present }),
});

export const LIST = defineOperation({
  name: 'List',
  kind: 'read',
  doc: 'Every image in the store, one entry per image ID (an image with several names appears once).',
  in: [],
  out: [
    {
      name: 'images',
      type: T.images,
      doc: 'The images. D-Bus: an array of (id, names, digest, size, created), the fields of the Varlink type Image.',
    },
  ],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: ['StorageFailure', 'StoreUnavailable'],
  // The view's array itself, the same object until the store changes: its D-Bus body is marshalled once.
  snapshot: true,
  run: async (service) => ({ value: await service.list() }),
  toDBus: (images) => [
    images.map((i) => [i.id, i.names, i.digest, BigInt(toCount(i.size)), BigInt(Math.trunc(i.created))]),
  ],
  toVarlink: (images) => ({
    images: images.map((i) => ({
      id: i.id,
      names: i.names,
      digest: i.digest,
      size: toCount(i.size),
      created: Math.trunc(i.created),
    })),
  }),
});

export const LIST_JOBS = defineOperation({
  name: 'ListJobs',
  kind: 'read',
  doc: 'Every queued or running job, of any owner and either transport, oldest first.',
  in: [],
  out: [
    {
      name: 'jobs',
      type: T.jobs,
      doc: "The jobs. D-Bus: an array of (id, kind, target, state, path): the job's Id, Kind, Target and State properties and its object path (org.bootc.Storage.Job has every field); Varlink: every field of the type Job.",
    },
  ],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: [],
  run: async (service) => ({ value: service.listJobs() }),
  toDBus: (jobs) => [jobs.map((j) => [j.id, j.kind, j.target, j.state, jobObjectPath(j.id)])],
  toVarlink: (jobs) => ({ jobs: jobs.map((j) => projectJob(j, 'varlink')) }),
});

export const GET_JOB = defineOperation({
  name: 'GetJob',
  kind: 'read',
  only: 'varlink',
  doc: 'One job, queued, running, or ended within the last 60 s (then with its result or error): how a caller that started a job with a Start method, or with "oneway", reads how it went. (On D-Bus, the job\'s object has the same properties.)',
  in: [{ name: 'id', type: T.uint, doc: "The job's id." }],
  out: [{ name: 'job', type: { dbus: 'a{sv}', varlink: 'Job' }, doc: 'The job, every field.' }],
  input: z.tuple([z.int().check(z.nonnegative(), z.maximum(0xffffffff))]),
  access: { action: ACTION_READ },
  errors: ['NotFound (no such job, or it ended more than 60 s ago)'],
  run: async (service, [id]) => {
    const job = service.findJob(id);
    if (!job) throw createError('NotFound', `no job ${id} is queued, running or recently ended`);
    return { value: job };
  },
  toDBus: () => [],
  toVarlink: (job) => ({ job: projectJob(job, 'varlink') }),
});
