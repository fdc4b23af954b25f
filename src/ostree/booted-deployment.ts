// Which deployment is running and which one is staged, from the running system's state as libostree reads it:
// the booted deployment is the one whose directory is `/` (same device and inode; on a composefs root, the
// backing directory ostree-prepare-root recorded in /run/ostree-booted), the staged one is named by
// /run/ostree/staged-deployment (written by `ostree admin deploy --stage`, finalized at shutdown).

import { type BigIntStats, statSync } from 'node:fs';
import { join } from 'node:path';
import { noteRead } from '../storage/read-record.js';
import { readSmallFile } from '../storage/read-small-file.js';
import { listDeployments } from './deployments.js';
import { decodeVardict, type GVariantBox, toVardict } from './gvariant.js';

/** The records in /run are a few hundred bytes; a larger file is not one. */
const MAX_RECORD_BYTES = 1024 * 1024;
const DEPLOYMENT_NAME_RE = /^[0-9a-f]{64}\.[0-9]+$/;
/** A stateroot name as a directory name under ostree/deploy. */
const OSNAME_RE = /^[^/\0]+$/;

/** Where to look for the running system: `/` and `/run` on a host, a deployment and a temp dir in tests. */
export interface RunningSystem {
  /** The running root file system; default `/`. */
  rootPath?: string;
  /** The runtime state directory holding `ostree-booted` and `ostree/staged-deployment`; default `/run`. */
  runDir?: string;
}

/**
 * The deployment directory the system runs from (same st_dev and st_ino as the root, as libostree compares
 * them), or undefined when none of `candidates` is: a sysroot being prepared, or not booted from ostree. The
 * backing directory recorded in `<runDir>/ostree-booted` is tried first, then `rootPath` itself (a record that
 * matches nothing here describes another sysroot).
 */
export function findBootedDeployment(
  sysroot: string,
  rootPath = '/',
  runDir = '/run',
  candidates: readonly string[] = listDeployments(sysroot),
): string | undefined {
  const ids = candidates.map((d) => [d, statDevIno(d)] as const);
  for (const root of [readBackingRoot(runDir), statDevIno(rootPath)]) {
    if (!root) continue;
    const found = ids.find(([, st]) => st?.dev === root.dev && st.ino === root.ino);
    if (found) return found[0];
  }
  return undefined;
}

function statDevIno(path: string): { dev: bigint; ino: bigint } | undefined {
  let st: BigIntStats;
  noteRead(path);
  try {
    st = statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  return { dev: st.dev, ino: st.ino };
}

/**
 * `backing-root-device-inode` from `<runDir>/ostree-booted`: on a composefs (or overlay) root, `/` is not the
 * deployment directory itself, and ostree-prepare-root records the directory's (device, inode) pair here.
 */
function readBackingRoot(runDir: string): { dev: bigint; ino: bigint } | undefined {
  const record = readRecord(join(runDir, 'ostree-booted'));
  const pair = record?.get('backing-root-device-inode');
  if (pair?.type !== '(tt)' || !Array.isArray(pair.value)) return undefined;
  const [dev, ino] = pair.value;
  return typeof dev === 'bigint' && typeof ino === 'bigint' ? { dev, ino } : undefined;
}

/**
 * The staged deployment's directory in `sysroot`, from `<runDir>/ostree/staged-deployment` (`target` →
 * `osname` and `name` = `<checksum>.<serial>`); undefined when there is none, the record cannot be read, or
 * the deployment it names is not a directory of this sysroot. libostree reads it only on a booted system: so do
 * callers (the record describes the running system's sysroot, not one being prepared).
 */
export function readStagedDeployment(sysroot: string, runDir = '/run'): string | undefined {
  const record = readRecord(join(runDir, 'ostree/staged-deployment'));
  const target = record?.get('target');
  if (target?.type !== 'a{sv}') return undefined;
  let fields: Map<string, GVariantBox>;
  try {
    fields = toVardict(target.value);
  } catch {
    return undefined;
  }
  const name = fields.get('name')?.value;
  const osname = fields.get('osname')?.value;
  if (typeof name !== 'string' || typeof osname !== 'string') return undefined;
  if (!DEPLOYMENT_NAME_RE.test(name) || !OSNAME_RE.test(osname) || osname === '.' || osname === '..') {
    return undefined;
  }
  const dir = join(sysroot, 'ostree/deploy', osname, 'deploy', name);
  noteRead(dir);
  try {
    return statSync(dir).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** An `a{sv}` record file; undefined when it is missing, too large or not a valid GVariant dictionary. */
function readRecord(path: string): Map<string, GVariantBox> | undefined {
  // /run is the running system's own state: a link there is followed, but only to a small regular file.
  const read = readSmallFile(path, { maxBytes: MAX_RECORD_BYTES, followSymlinks: true });
  if (!read.ok) return undefined;
  try {
    return decodeVardict(read.content);
  } catch {
    return undefined;
  }
}
