// Every deployment of a sysroot with the role libostree and bootc give it (booted, staged, rollback), in the
// boot loader's order, with its host image: what a status view shows next to each deployment's bound images.

import { basename, dirname } from 'node:path';
import { readBootOrder } from './boot-order.js';
import { findBootedDeployment, type RunningSystem, readStagedDeployment } from './booted-deployment.js';
import { listDeployments, readHostImage } from './deployments.js';
import { listPendingUpdates } from './pending-updates.js';

/**
 * booted: the running deployment. staged: the one the next boot starts instead (a staged deployment, or a
 * pending one deployed ahead of the booted one in its stateroot). rollback: the first one of the booted
 * deployment's stateroot after it. other: the rest, and every deployment when none is booted. pending: not a
 * deployment yet, an update fetched and not deployed (pending-updates.ts).
 */
export type DeploymentRole = 'booted' | 'staged' | 'rollback' | 'other' | 'pending';

/** One deployment as a status view lists it. */
export interface DeploymentInfo {
  /** `<checksum>.<serial>`, the directory's name; for a pending update, its commit's checksum. */
  deployment: string;
  /** Its stateroot ('' for a pending update). */
  osname: string;
  role: DeploymentRole;
  /** Canonical reference from `.origin` (as GC roots it); '' for none or another transport than a registry. */
  hostImage: string;
  /** `<sysroot>/ostree/deploy/<osname>/deploy/<checksum>.<serial>`; '' for a pending update (only a commit). */
  path: string;
}

/** Where the running system is; see RunningSystem. */
export type DeploymentRoleOptions = RunningSystem;

/**
 * Every deployment directory of `sysroot`, in libostree's order: the staged deployment first, then those with
 * boot entries (newest first, as `ostree admin status` shows them), then any without an entry (being written
 * or cleaned up; GC still counts them) by name. Roles follow ostree_sysroot_query_deployments_for with the
 * booted deployment's stateroot. Throws InvalidBoundImage for an unreadable `.origin`, as GC does.
 */
export function listDeploymentsWithRoles(
  sysroot: string,
  opts: DeploymentRoleOptions = {},
): DeploymentInfo[] {
  const onDisk = listDeployments(sysroot);
  const present = new Set(onDisk);
  const booted = findBootedDeployment(sysroot, opts.rootPath, opts.runDir, onDisk);
  // /run describes the running system: only its own sysroot has a staged deployment there (as in libostree).
  const stagedDir = booted === undefined ? undefined : readStagedDeployment(sysroot, opts.runDir);
  const staged =
    stagedDir !== undefined && present.has(stagedDir) && stagedDir !== booted ? stagedDir : undefined;
  // What libostree lists: the staged deployment, then the boot entries' deployments.
  const listed = [
    ...(staged ? [staged] : []),
    ...readBootOrder(sysroot).filter((d) => present.has(d) && d !== staged),
  ];
  const roles = assignRoles(listed, booted, staged);
  const rest = onDisk.filter((d) => !listed.includes(d));
  // Fetched updates no deployment was made from come first: what the next deployment may be.
  const pending: DeploymentInfo[] = listPendingUpdates(sysroot, onDisk).map((u) => ({
    deployment: u.commit,
    osname: '',
    role: 'pending',
    hostImage: u.hostImage,
    path: '',
  }));
  return [
    ...pending,
    ...[...listed, ...rest].map((path) => ({
      deployment: basename(path),
      osname: stateroot(path),
      role: roles.get(path) ?? 'other',
      hostImage: readHostImage(`${path}.origin`) ?? '',
      path,
    })),
  ];
}

/**
 * ostree_sysroot_query_deployments_for(booted's osname): within that stateroot, the first deployment before
 * the booted one is pending (here: staged), the first after it is the rollback. Without a booted deployment
 * among the boot entries there is neither.
 */
function assignRoles(
  listed: readonly string[],
  booted: string | undefined,
  staged: string | undefined,
): Map<string, DeploymentRole> {
  const roles = new Map<string, DeploymentRole>();
  if (staged !== undefined) roles.set(staged, 'staged');
  if (booted === undefined) return roles;
  roles.set(booted, 'booted');
  if (!listed.includes(booted)) return roles;
  const osname = stateroot(booted);
  let pastBooted = false;
  let pending: string | undefined;
  let rollback: string | undefined;
  for (const d of listed) {
    if (stateroot(d) !== osname) continue;
    if (d === booted) pastBooted = true;
    else if (!pastBooted) pending ??= d;
    else rollback ??= d;
  }
  if (pending !== undefined) roles.set(pending, 'staged');
  if (rollback !== undefined) roles.set(rollback, 'rollback');
  return roles;
}

/** The stateroot of `<sysroot>/ostree/deploy/<stateroot>/deploy/<name>`. */
function stateroot(deploymentDir: string): string {
  return basename(dirname(dirname(deploymentDir)));
}
