// The wire types of the contract, each spelled for D-Bus and for Varlink, and the named struct types the
// Varlink IDL declares (the D-Bus XML documents the same fields on the argument that carries them).

import type { Field, WireType } from './contract.js';
import { JOB_FIELDS } from './job-fields.js';

export const T = {
  string: { dbus: 's', varlink: 'string' },
  bool: { dbus: 'b', varlink: 'bool' },
  uint: { dbus: 'u', varlink: 'int' },
  uint64: { dbus: 't', varlink: 'int' },
  int64: { dbus: 'x', varlink: 'int' },
  double: { dbus: 'd', varlink: 'float' },
  path: { dbus: 'o', varlink: 'string' },
  strings: { dbus: 'as', varlink: '[]string' },
  images: { dbus: 'a(sasstx)', varlink: '[]Image' },
  jobs: { dbus: 'a(ussso)', varlink: '[]Job' },
  boundImages: { dbus: 'a(sssb)', varlink: '[]BoundImage' },
  deployments: { dbus: 'a(sss)', varlink: '[]Deployment' },
  gcDecisions: { dbus: 'a(sbs)', varlink: '[]GcDecision' },
} as const satisfies Record<string, WireType>;

/** One image in the store: List's entries (D-Bus: the struct (id, names, digest, size, created)). */
export const IMAGE_FIELDS: readonly Field[] = [
  { name: 'id', type: T.string, doc: 'Full 64-hex image ID, without "sha256:".' },
  {
    name: 'names',
    type: T.strings,
    doc: 'The image\'s names, "repo:tag" (or "repo@digest" for an image pulled by digest); empty for an image left without a name.',
  },
  { name: 'digest', type: T.string, doc: 'Manifest digest "sha256:<hex>", or "" when unknown.' },
  { name: 'size', type: T.uint64, doc: 'Size in bytes.' },
  { name: 'created', type: T.int64, doc: 'Creation time, seconds since the Unix epoch (UTC).' },
];

/** One image a deployment binds (ListBoundImages; D-Bus: the struct (image, deployment, file, present)). */
export const BOUND_IMAGE_FIELDS: readonly Field[] = [
  {
    name: 'image',
    type: T.string,
    doc: 'The image, as a normalized reference (as garbage collection roots it).',
  },
  { name: 'deployment', type: T.string, doc: 'The deployment that binds it, "<checksum>.<serial>".' },
  {
    name: 'file',
    type: T.string,
    doc: "The link that binds it, relative to the deployment's root: usr/lib/bootc/bound-images.d/<name>, a symlink to the quadlet file whose Image= names the image.",
  },
  { name: 'present', type: T.bool, doc: 'Whether the store has the image (as Exists would answer).' },
];

/** One deployment (ListDeployments; D-Bus: the struct (deployment, role, host_image)). */
export const DEPLOYMENT_FIELDS: readonly Field[] = [
  {
    name: 'deployment',
    type: T.string,
    doc: '"<checksum>.<serial>", its directory under ostree/deploy/<stateroot>/deploy; for a pending update, its commit\'s "<checksum>".',
  },
  {
    name: 'role',
    type: T.string,
    doc: '"booted" (the running one), "staged" (to be booted next: staged, or deployed before the booted one), "rollback" (the one after the booted one) "other" (every deployment when the sysroot is not the booted one), or "pending": not a deployment yet, an update fetched (bootc upgrade --download-only, or any fetch) and kept as the commit an ostree/container/image/… ref in ostree/repo names, which no deployment was made from.',
  },
  {
    name: 'host_image',
    type: T.string,
    doc: 'The container image it was deployed from (for a pending update: the one its ref names), as a normalized reference; "" when its origin names none.',
  },
];

/** One image's fate in a garbage collection (PreviewGarbageCollect; D-Bus: (id, kept, reason)). */
export const GC_DECISION_FIELDS: readonly Field[] = [
  { name: 'id', type: T.string, doc: 'The image ID (64 hex).' },
  { name: 'kept', type: T.bool, doc: 'False when GarbageCollect would remove it.' },
  {
    name: 'reason',
    type: T.string,
    doc: 'Why: "bound by <deployment> (usr/lib/bootc/bound-images.d/<name>)" or "host image of <deployment>" (several joined by "; "), or "referenced by no deployment".',
  },
];

/** The struct types the Varlink IDL declares, in order, with their doc. */
export const VARLINK_TYPES: readonly { name: string; doc: string; fields: readonly Field[] }[] = [
  { name: 'Image', doc: 'One image in the store.', fields: IMAGE_FIELDS },
  { name: 'Job', doc: 'One job: queued, running, or ended within its retention time.', fields: JOB_FIELDS },
  { name: 'BoundImage', doc: 'One image a deployment binds.', fields: BOUND_IMAGE_FIELDS },
  { name: 'Deployment', doc: 'One ostree deployment.', fields: DEPLOYMENT_FIELDS },
  { name: 'GcDecision', doc: "One image's fate in a garbage collection.", fields: GC_DECISION_FIELDS },
];
