// The write operations: each becomes a job on the one queue (joined when an identical one is queued or
// running); the blocking calls reply when the job ends.

import { ACTION_PULL, ACTION_REMOVE } from '../../authz/actions.js';
import * as z from '../../schema.js';
import { defineOperation } from '../contract.js';
import { parsePullPolicy } from '../pull-decision.js';
import { MAX_LIST_ARGS, shownTargets } from '../targets.js';
import { T } from '../wire-types.js';
import { imageArg, referenceArg } from './reads.js';

const imageList = z.array(imageArg).check(z.maxLength(MAX_LIST_ARGS));
const JOB_ERRORS = ['Busy', 'Canceled', 'StorageFailure', 'StoreUnavailable', 'ReadOnlyFilesystem'];

export const PULL = defineOperation({
  name: 'Pull',
  kind: 'job',
  jobKind: 'pull',
  doc: `Fetches an image from its registry into the store, as a job of kind "pull". Credentials come only from the sysroot's ostree auth.json (/run/ostree, then /etc/ostree, then /usr/lib/ostree); the caller's own credentials are never used. The host's signature policy applies as it does to podman and skopeo (/etc/containers/policy.json, with /etc/containers/registries.d for where signatures are); the daemon never passes an option that loosens it.`,
  dbusDoc: 'The call replies when the job ends.',
  varlinkDoc:
    'With "more": true, progress replies (continues: true) come first, at most every 100 ms, then the final one. With "oneway": true, the job is started (or joined) and nothing is answered.',
  in: [
    { name: 'image', type: T.string, doc: 'Fully-qualified reference (see "Image references").' },
    {
      name: 'policy',
      type: T.string,
      doc: 'One of:\n  "missing"  pull only when the image is not already in the store\n  "always"   always contact the registry and pull\n  "newer"    contact the registry; the store changes only if the image did\nAnything else: InvalidArgument.',
    },
  ],
  out: [
    {
      name: 'fetched',
      type: T.bool,
      optional: true,
      doc: '"missing": true when the image was pulled, false when it was already present; "always": true; "newer": true only when the pull changed the image ID the reference names. A digest reference (repo@sha256:...) the store already has is false under every policy: a digest names immutable content, so nothing is fetched. Varlink: only in the final reply.',
    },
  ],
  // Both checked in full before polkit: a bad reference or policy never prompts.
  input: z.tuple([referenceArg, z.pipe(z.string().check(z.maxLength(64)), z.transform(parsePullPolicy))]),
  access: { action: ACTION_PULL },
  details: ([ref]) => ({ image: ref.canonical }),
  errors: [
    'InvalidReference',
    'InvalidArgument (unknown policy)',
    'PullFailed (after retrying transient failures: connection refused or reset, timeouts, HTTP 5xx and 429)',
    "SignatureRejected (the signature policy refused the image, with the policy's reason; never retried)",
    'NoSpace (when the registry says the image cannot fit: before the pull starts, or, with more than 16 GiB free past the reserve, as soon as the registry answers, stopping the pull)',
    ...JOB_ERRORS,
  ],
  pulling: true,
  streams: true,
  run: async (service, [ref, policy], caller) => ({
    job: service.pull(ref, policy, await caller.uid(), caller.who),
  }),
  toDBus: (r) => [r.fetched],
  toVarlink: (r) => ({ fetched: r.fetched }),
});

export const PULL_FROM_HOST = defineOperation({
  name: 'PullFromHost',
  kind: 'job',
  jobKind: 'pull-from-host',
  doc: `Copies an image from the host's default container storage (the store root's podman uses, normally /var/lib/containers/storage) into this store, as a job of kind "pull-from-host". Signatures are not copied (podman push --remove-signatures, as upstream bootc does), and no signature policy is checked for the copy: the image is trusted as the host's storage holds it, so use this only for images the host already accepted; Pull checks the policy.`,
  dbusDoc: 'The call replies when the job ends.',
  in: [{ name: 'image', type: T.string, doc: "Fully-qualified reference, as named in the host's storage." }],
  out: [],
  input: z.tuple([referenceArg]),
  access: { action: ACTION_PULL },
  details: ([ref]) => ({ image: ref.canonical }),
  errors: ['InvalidReference', "NotFound (not in the host's storage)", 'PullFailed', ...JOB_ERRORS],
  pulling: true,
  run: async (service, [ref], caller) => ({
    job: service.pullFromHost(ref, await caller.uid(), caller.who),
  }),
  toDBus: () => [],
  toVarlink: () => ({}),
});

export const REMOVE = defineOperation({
  name: 'Remove',
  kind: 'job',
  jobKind: 'remove',
  doc: 'Removes images, as a job of kind "remove". Every entry is resolved before anything is removed: if one matches nothing, the call fails with NotFound and the store is unchanged.',
  dbusDoc: 'The call replies when the job ends.',
  in: [
    {
      name: 'images',
      type: T.strings,
      doc: `1 to ${MAX_LIST_ARGS} entries, each a fully-qualified reference or a 64-hex image ID (optionally prefixed with "sha256:").\n  * a tag reference (repo:tag) removes that name only; the image itself goes with its last name\n  * an image ID or a digest reference (repo@sha256:...) removes the whole image with all its names`,
    },
  ],
  out: [
    {
      name: 'removed_ids',
      type: T.strings,
      doc: '64-hex IDs of the images deleted entirely; an image that only lost a name is not listed.',
    },
  ],
  input: z.tuple([imageList]),
  access: { action: ACTION_REMOVE },
  details: ([images]) => ({ image: shownTargets(images) }),
  errors: [
    `InvalidArgument (empty list, more than ${MAX_LIST_ARGS} entries)`,
    'InvalidReference',
    'NotFound',
    ...JOB_ERRORS,
  ],
  run: async (service, [images], caller) => ({
    job: service.remove(images, await caller.uid(), caller.who),
  }),
  toDBus: (ids) => [ids],
  toVarlink: (removedIds) => ({ removedIds }),
});

export const PRUNE = defineOperation({
  name: 'Prune',
  kind: 'job',
  jobKind: 'prune',
  doc: 'Removes every image not referenced by a root, as a job of kind "prune". An image is kept when any of its names or repository digests equals a root, both sides normalized; images without names are always removed.',
  dbusDoc: 'The call replies when the job ends.',
  in: [
    {
      name: 'roots',
      type: T.strings,
      doc: `1 to ${MAX_LIST_ARGS} fully-qualified references (repo:tag or repo@digest) of the images to keep. An empty list is refused with NoRoots, because it would remove every image.`,
    },
  ],
  out: [{ name: 'removed_ids', type: T.strings, doc: '64-hex IDs of the images deleted.' }],
  input: z.tuple([imageList]),
  access: { action: ACTION_REMOVE },
  details: ([roots]) => ({ roots: shownTargets(roots, true) }),
  errors: [
    'NoRoots (empty list)',
    `InvalidArgument (more than ${MAX_LIST_ARGS} roots)`,
    'InvalidReference',
    ...JOB_ERRORS,
  ],
  run: async (service, [roots], caller) => ({
    job: service.prune(roots, await caller.uid(), caller.who),
  }),
  toDBus: (ids) => [ids],
  toVarlink: (removedIds) => ({ removedIds }),
});

export const GARBAGE_COLLECT = defineOperation({
  name: 'GarbageCollect',
  kind: 'job',
  jobKind: 'gc',
  doc: `Removes every image that no deployment references, as a job of kind "gc" (unless dry_run). The roots are computed the way bootc computes them: for every deployment under <sysroot>/ostree/deploy/*/deploy/<checksum>.<serial>/, each symlink in usr/lib/bootc/bound-images.d/ ending .image or .container points (inside the deployment) to a quadlet file whose [Image] or [Container] Image= names an image; plus each deployment's host image from its .origin file (container-image-reference=). Rollback deployments count like the booted one. A pending update (a commit an ostree/container/image/… ref names, not deployed) keeps its bound images, read from the commit, for as long as its ref exists.

The job holds libostree's sysroot lock (<sysroot>/ostree/lock) while it decides and removes, as bootc, ostree and rpm-ostree do while they deploy: while one of them holds it, the job's state is "blocked" and nothing is removed; after the daemon's lock-timeout option (default 300 s) it fails with SysrootLocked. A dry run takes no lock, makes no job and never waits.`,
  dbusDoc: 'The call replies when the job ends.',
  in: [
    {
      name: 'dry_run',
      type: T.bool,
      doc: 'True to only report what would be removed: no job, nothing changes.',
    },
  ],
  out: [
    {
      name: 'removed_or_would_remove',
      varlink: 'removedIds',
      type: T.strings,
      doc: '64-hex IDs of the images removed (or, on a dry run, that would be).',
    },
  ],
  input: z.tuple([z.boolean()]),
  access: { action: ACTION_REMOVE },
  errors: [
    'NoRoots (no deployments found; nothing removed)',
    'InvalidBoundImage (a quadlet or origin file cannot be understood: an unsupported %-specifier, AuthFile= in an .image file, a missing Image=, a link leaving the deployment; nothing removed)',
    'SysrootLocked',
    ...JOB_ERRORS,
  ],
  run: async (service, [dryRun], caller) => service.collectGarbage(dryRun, await caller.uid(), caller.who),
  toDBus: (ids) => [ids],
  toVarlink: (removedIds) => ({ removedIds }),
});
