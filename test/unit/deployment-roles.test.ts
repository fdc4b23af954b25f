// Deployment roles on real ostree sysroots (ostree admin deploy; a staged deployment as `deploy --stage` leaves
// it, with its GLib-serialized /run record). "Booted" is the deployment `rootPath` (or ostree-booted's backing
// device/inode) points at, so every role is reproducible without booting anything.

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareVersions, readBootOrder } from '../../src/ostree/boot-order.js';
import { findBootedDeployment, readStagedDeployment } from '../../src/ostree/booted-deployment.js';
import { listDeploymentsWithRoles } from '../../src/ostree/deployment-roles.js';
import {
  deploy,
  makeTempSysroot,
  type OstreeDeployment,
  stage,
  status,
  writeOstreeBooted,
  writeStagedRecord,
} from '../helpers/ostree-sysroot.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
let run: { path: string; remove: () => void };
let sysroot: string;
let runDir: string;
beforeEach(() => {
  tmp = makeTempSysroot('bsd-roles-');
  run = makeTempDir('bsd-run-');
  sysroot = tmp.path;
  runDir = run.path;
});
afterEach(() => {
  tmp.remove();
  run.remove();
});

const name = (d: OstreeDeployment) => `${d.checksum}.${d.serial}`;
const roles = (opts: { rootPath?: string } = {}) =>
  listDeploymentsWithRoles(sysroot, { rootPath: opts.rootPath ?? runDir, runDir }).map((d) => [
    d.deployment,
    d.role,
  ]);

/** Three deployments of one stateroot, newest first in boot order: [newest, middle, oldest]. */
function threeDeployments() {
  const oldest = deploy(sysroot, { origin: 'ostree-unverified-registry:quay.io/os/host:1' });
  const middle = deploy(sysroot, { retain: true, origin: 'ostree-image-signed:docker://quay.io/os/host:2' });
  const newest = deploy(sysroot, { retain: true });
  expect(status(sysroot).map((d) => d.dir)).toEqual([newest.dir, middle.dir, oldest.dir]);
  return { oldest, middle, newest };
}

describe('listDeploymentsWithRoles', () => {
  it('lists in boot order with host images; nothing booted: every deployment is "other"', () => {
    const { oldest, middle, newest } = threeDeployments();
    const list = listDeploymentsWithRoles(sysroot, { rootPath: runDir, runDir });
    expect(list).toEqual([
      { deployment: name(newest), osname: 'default', role: 'other', hostImage: '', path: newest.dir },
      {
        deployment: name(middle),
        osname: 'default',
        role: 'other',
        hostImage: 'quay.io/os/host:2',
        path: middle.dir,
      },
      {
        deployment: name(oldest),
        osname: 'default',
        role: 'other',
        hostImage: 'quay.io/os/host:1',
        path: oldest.dir,
      },
    ]);
    expect(readBootOrder(sysroot)).toEqual(status(sysroot).map((d) => d.dir));
  });

  it('booted newest: the next one is the rollback, the rest other', () => {
    const { oldest, middle, newest } = threeDeployments();
    expect(roles({ rootPath: newest.dir })).toEqual([
      [name(newest), 'booted'],
      [name(middle), 'rollback'],
      [name(oldest), 'other'],
    ]);
  });

  it('booted in the middle: a deployment ahead of it is pending (staged), the one after it the rollback', () => {
    const { oldest, middle, newest } = threeDeployments();
    expect(roles({ rootPath: middle.dir })).toEqual([
      [name(newest), 'staged'],
      [name(middle), 'booted'],
      [name(oldest), 'rollback'],
    ]);
  });

  it('a staged deployment (/run/ostree/staged-deployment) comes first and is the pending one', async () => {
    const { oldest, middle, newest } = threeDeployments();
    const staged = await stage(sysroot, runDir, { origin: 'ostree-unverified-registry:quay.io/os/host:9' });
    expect(readStagedDeployment(sysroot, runDir)).toBe(staged.dir);
    expect(status(sysroot).map((d) => d.dir)).not.toContain(staged.dir); // no boot entry, as when staged
    const list = listDeploymentsWithRoles(sysroot, { rootPath: middle.dir, runDir });
    expect(list.map((d) => [d.deployment, d.role])).toEqual([
      [name(staged), 'staged'],
      [name(newest), 'other'], // libostree's pending is the first one ahead of the booted: the staged one
      [name(middle), 'booted'],
      [name(oldest), 'rollback'],
    ]);
    expect(list[0]?.hostImage).toBe('quay.io/os/host:9');
  });

  it('ignores the staged record when nothing is booted (it describes the running system, not this sysroot)', async () => {
    const { oldest, middle, newest } = threeDeployments();
    const staged = await stage(sysroot, runDir);
    // listed after the boot entries, as every deployment directory without one
    expect(roles()).toEqual([
      [name(newest), 'other'],
      [name(middle), 'other'],
      [name(oldest), 'other'],
      [name(staged), 'other'],
    ]);
  });

  it('ignores a staged record naming no deployment of this sysroot, or one that is not a record', async () => {
    const { middle, newest } = threeDeployments();
    await writeStagedRecord(runDir, { name: `${'e'.repeat(64)}.0`, osname: 'default' });
    expect(readStagedDeployment(sysroot, runDir)).toBeUndefined();
    await writeStagedRecord(runDir, { name: name(newest), osname: '..' });
    expect(readStagedDeployment(sysroot, runDir)).toBeUndefined();
    writeFileSync(join(runDir, 'ostree/staged-deployment'), 'not a gvariant at all\n');
    expect(readStagedDeployment(sysroot, runDir)).toBeUndefined();
    expect(roles({ rootPath: middle.dir }).map(([, r]) => r)).toEqual(['staged', 'booted', 'rollback']);
    rmSync(join(runDir, 'ostree'), { recursive: true });
    expect(readStagedDeployment(sysroot, runDir)).toBeUndefined();
  });

  it('pending and rollback are of the booted stateroot only; other stateroots are "other"', () => {
    const a1 = deploy(sysroot, {});
    const b1 = deploy(sysroot, { stateroot: 'b', retain: true });
    const a2 = deploy(sysroot, { retain: true });
    const b2 = deploy(sysroot, { stateroot: 'b', retain: true });
    expect(status(sysroot).map((d) => d.dir)).toEqual([b2.dir, a2.dir, b1.dir, a1.dir]);
    expect(roles({ rootPath: a2.dir })).toEqual([
      [name(b2), 'other'],
      [name(a2), 'booted'],
      [name(b1), 'other'],
      [name(a1), 'rollback'],
    ]);
    const list = listDeploymentsWithRoles(sysroot, { rootPath: b1.dir, runDir });
    expect(list.map((d) => [d.osname, d.role])).toEqual([
      ['b', 'staged'],
      ['default', 'other'],
      ['b', 'booted'],
      ['default', 'other'],
    ]);
  });

  it('finds the booted deployment from ostree-booted backing-root-device-inode (composefs root)', async () => {
    const { oldest, middle, newest } = threeDeployments();
    await writeOstreeBooted(runDir, oldest.dir);
    // `/` itself (here: the run dir) is not a deployment, as a composefs mount is not
    expect(findBootedDeployment(sysroot, runDir, runDir)).toBe(oldest.dir);
    expect(roles()).toEqual([
      [name(newest), 'staged'],
      [name(middle), 'other'],
      [name(oldest), 'booted'],
    ]);
    // A record of another sysroot's deployment (the run dir itself here) matches nothing: `rootPath` decides.
    await writeOstreeBooted(runDir, runDir);
    expect(findBootedDeployment(sysroot, middle.dir, runDir)).toBe(middle.dir);
    expect(findBootedDeployment(sysroot, runDir, runDir)).toBeUndefined();
  });

  it('a deployment directory without a boot entry is listed last as "other", never the rollback', () => {
    const { oldest, middle, newest } = threeDeployments();
    // Drop the boot entry of the middle one (as while ostree rewrites entries): it is only on disk now.
    const entries = join(sysroot, 'boot/loader/entries');
    const text = (n: number) => `version ${n}\noptions ostree=/ostree/boot.1/default/nope/${n}\n`;
    writeFileSync(join(entries, 'ostree-2-default.conf'), text(2)); // leads nowhere: skipped
    writeFileSync(join(entries, 'not-ostree.conf'), text(7)); // not an ostree-*.conf: ignored
    expect(readBootOrder(sysroot)).toEqual([newest.dir, oldest.dir]);
    expect(roles({ rootPath: newest.dir })).toEqual([
      [name(newest), 'booted'],
      [name(oldest), 'rollback'],
      [name(middle), 'other'],
    ]);
  });

  it('returns nothing for a sysroot without deployments', () => {
    expect(listDeploymentsWithRoles(sysroot, { rootPath: runDir, runDir })).toEqual([]);
  });
});

describe('compareVersions', () => {
  it('orders as strverscmp does for boot entry versions', () => {
    const sorted = ['10', '9', '2', '1', '100', '1a', '1b'].sort(compareVersions);
    expect(sorted).toEqual(['1', '1a', '1b', '2', '9', '10', '100']);
    expect(compareVersions('07', '7')).toBe(0);
  });
});
