// The deployments' side of the store, for admin tools: roles, bound images and whether they are here, what a
// garbage collection would keep and why, and a sync of the missing bound images.

import { ACTION_PULL, ACTION_READ } from '../../authz/actions.js';
import * as z from '../../schema.js';
import { defineOperation } from '../contract.js';
import { listBound, listDeployments, previewCollection, startSync } from '../deployments.js';
import { T } from '../wire-types.js';

/** A deployment ("<checksum>.<serial>"), a pending update (its commit's "<checksum>"), or "" for all. */
const DEPLOYMENT_NAME = /^(?:[0-9a-f]{64}(?:\.[0-9]{1,9})?)?$/;

const READ_ERRORS = [
  'InvalidBoundImage (a deployment file cannot be understood; it is named)',
  'StorageFailure',
];

export const LIST_DEPLOYMENTS = defineOperation({
  name: 'ListDeployments',
  kind: 'read',
  doc: 'Every ostree deployment of the sysroot, in boot order (the staged one first, then as the bootloader lists them), with its role and the container image it was deployed from; before them, each pending update (fetched, not deployed) with the role "pending".',
  in: [],
  out: [
    {
      name: 'deployments',
      type: T.deployments,
      doc: 'The deployments, each (deployment, role, host_image).',
    },
  ],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: READ_ERRORS,
  run: async (service) => ({ value: listDeployments(service) }),
  toDBus: (ds) => [ds.map((d) => [d.deployment, d.role, d.hostImage])],
  toVarlink: (ds) => ({
    deployments: ds.map((d) => ({ deployment: d.deployment, role: d.role, hostImage: d.hostImage })),
  }),
});

export const LIST_BOUND_IMAGES = defineOperation({
  name: 'ListBoundImages',
  kind: 'read',
  doc: "Every logically bound image of every deployment: the image, the deployment that binds it, the file that binds it, and whether the store has it. Read the way bootc reads them (each usr/lib/bootc/bound-images.d/*.image or *.container link, resolved inside the deployment, and its quadlet's Image=), so what is listed is exactly what garbage collection keeps. A pending update's are read from its commit in ostree/repo, never checked out.",
  in: [],
  out: [
    {
      name: 'images',
      type: T.boundImages,
      doc: 'The bound images, each (image, deployment, file, present).',
    },
  ],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: [...READ_ERRORS, 'StoreUnavailable'],
  run: async (service) => ({ value: await listBound(service) }),
  toDBus: (list) => [list.map((b) => [b.image, b.deployment, b.file, b.present])],
  toVarlink: (list) => ({
    images: list.map((b) => ({ image: b.image, deployment: b.deployment, file: b.file, present: b.present })),
  }),
});

export const PREVIEW_GARBAGE_COLLECT = defineOperation({
  name: 'PreviewGarbageCollect',
  kind: 'read',
  doc: 'Every image in the store, whether GarbageCollect would keep it, and why (the deployments and files that bind it, the deployments it is the host image of, or that nothing refers to it). Exactly the decision a GarbageCollect dry run reports; nothing changes, no job, no lock.',
  in: [],
  out: [{ name: 'images', type: T.gcDecisions, doc: 'Each image of the store, (id, kept, reason).' }],
  input: z.tuple([]),
  access: { action: ACTION_READ },
  errors: ['NoRoots (no deployments found)', ...READ_ERRORS, 'StoreUnavailable'],
  run: async (service) => ({ value: await previewCollection(service) }),
  toDBus: (list) => [list.map((e) => [e.id, e.kept, e.reason])],
  toVarlink: (list) => ({ images: list.map((e) => ({ id: e.id, kept: e.kept, reason: e.reason })) }),
});

export const SYNC_BOUND_IMAGES = defineOperation({
  name: 'SyncBoundImages',
  kind: 'job',
  jobKind: 'sync',
  doc: "Pulls every image a deployment binds that the store lacks, as one job of kind \"sync\" (what bootc does before it stages an upgrade): one image after another, each once, with the job's Item, ItemsDone and ItemsTotal naming the image it is on, and each image's bytes and layers. Credentials as for Pull. Stops at the first image that cannot be pulled; the error names it and the images pulled before it. For a pending update (fetched, not yet staged) this prepares it: bootc's own pull step, when it stages the update, finds its bound images present.",
  dbusDoc: 'The call replies when the job ends.',
  in: [
    {
      name: 'deployment',
      type: T.string,
      doc: '"<checksum>.<serial>" of one deployment, or the "<checksum>" of a pending update (both as ListDeployments names them), or "" for every deployment and pending update.',
    },
  ],
  out: [
    {
      name: 'pulled',
      type: T.strings,
      doc: 'The images pulled (normalized references); empty when none was missing.',
    },
  ],
  // Checked in full before polkit sees it: only a deployment's name ever reaches $(image) in a dialog.
  input: z.tuple([
    z
      .string()
      .check(
        z.regex(
          DEPLOYMENT_NAME,
          'a deployment is "<64 hex digits>.<serial>", a pending update "<64 hex digits>", or "" for every one',
        ),
      ),
  ]),
  access: { action: ACTION_PULL },
  details: ([deployment]) => ({
    image: `the missing bound images of ${deployment === '' ? 'every deployment' : `deployment ${deployment}`}`,
  }),
  errors: [
    'NotFound (no such deployment)',
    'InvalidBoundImage',
    'PullFailed',
    'SignatureRejected',
    'NoSpace',
    'Busy',
    'Canceled',
    'StorageFailure',
    'StoreUnavailable',
    'ReadOnlyFilesystem',
  ],
  pulling: true,
  run: async (service, [deployment], caller) => ({
    job: startSync(service, deployment, await caller.uid(), caller.who),
  }),
  toDBus: (pulled) => [pulled],
  toVarlink: (pulled) => ({ pulled }),
});
