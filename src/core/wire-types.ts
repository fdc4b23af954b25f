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

/** The struct types the Varlink IDL declares, in order, with their doc. */
export const VARLINK_TYPES: readonly { name: string; doc: string; fields: readonly Field[] }[] = [
  { name: 'Image', doc: 'One image in the store.', fields: IMAGE_FIELDS },
  { name: 'Job', doc: 'One queued or running job.', fields: JOB_FIELDS },
];
