// SELinux labels from a deployment's policy, on real ostree sysroots (ostree admin deploy labels the
// deployment's /etc from the same policy) and real matchpathcon/setfattr/getfattr: no policy is loaded on
// these kernels, yet security.selinux attributes can be written and read back, so the labels are checked exactly.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureLabeled, isSelinuxEnabled, LABELED_STAMP } from '../../src/storage/relabel.js';
import {
  createDeploymentRelabeler,
  findDefaultDeployment,
  findDeploymentPolicy,
  relabelFromFileContexts,
} from '../../src/storage/selinux-label.js';
import { deploy, makeTempSysroot, status } from '../helpers/ostree-sysroot.js';
import { makeTempDir } from '../helpers/tmp.js';

const ctx = (type: string) => `system_u:object_r:${type}:s0`;
const S = '/var/lib/containers/storage';
/** A policy whose store rules name their type after `tag`, so two policies are told apart. */
const fileContexts = (tag: string) =>
  [
    `/.*\t${ctx('default_t')}`,
    `/\t${ctx('root_t')}`,
    `/etc(/.*)?\t${ctx(`${tag}_etc_t`)}`,
    `${S}(/.*)?\t${ctx(`${tag}_var_lib_t`)}`,
    `${S}/overlay(/.*)?\t${ctx(`${tag}_ro_t`)}`,
    `${S}/[^/]*\\.lock\t--\t${ctx(`${tag}_lock_t`)}`,
    `${S}/untouched(/.*)?\t<<none>>`,
    '',
  ].join('\n');

/** The security.selinux attribute of a path itself (never a symlink's target), without its NUL. */
function labelOf(path: string): string | undefined {
  try {
    const out = execFileSync('getfattr', ['-h', '-n', 'security.selinux', '--only-values', '--', path], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.toString('utf8').replace(/\0$/, '');
  } catch {
    return undefined;
  }
}

function setLabel(path: string, label: string) {
  execFileSync('setfattr', ['-h', '-n', 'security.selinux', '-v', label, '--', path]);
}

let sys: { path: string; remove: () => void };
let tmp: { path: string; remove: () => void };
let store: string;
let outside: string;
beforeEach(() => {
  sys = makeTempSysroot('bsd-selinux-');
  tmp = makeTempDir('bsd-selinux-store-');
  outside = join(tmp.path, 'outside');
  writeFileSync(outside, 'not in the store\n');
  // A small store as podman lays it out, plus the odd cases.
  store = join(tmp.path, 'storage');
  for (const d of ['overlay/l', 'overlay/abc/diff', 'overlay-images', 'dir.lock', 'untouched']) {
    mkdirSync(join(store, d), { recursive: true });
  }
  writeFileSync(join(store, 'overlay/abc/diff/file'), 'x');
  writeFileSync(join(store, 'overlay-images/images.json'), '[]');
  writeFileSync(join(store, 'storage.lock'), '');
  writeFileSync(join(store, 'new\nline'), '');
  writeFileSync(join(store, 'untouched/kept'), '');
  writeFileSync(join(store, 'untouched/bare'), '');
  setLabel(join(store, 'untouched/kept'), ctx('kept_t'));
  symlinkSync('../abc/diff', join(store, 'overlay/l/ABC'));
  symlinkSync(outside, join(store, 'escape'));
});
afterEach(() => {
  sys.remove();
  tmp.remove();
});

/** Every label the store should have under `tag`'s policy. */
const expected = (tag: string) => ({
  '.': ctx(`${tag}_var_lib_t`),
  overlay: ctx(`${tag}_ro_t`),
  'overlay/l': ctx(`${tag}_ro_t`),
  'overlay/l/ABC': ctx(`${tag}_ro_t`),
  'overlay/abc/diff/file': ctx(`${tag}_ro_t`),
  'overlay-images': ctx(`${tag}_var_lib_t`),
  'overlay-images/images.json': ctx(`${tag}_var_lib_t`),
  'storage.lock': ctx(`${tag}_lock_t`), // the `--` rule: regular files only
  'dir.lock': ctx(`${tag}_var_lib_t`), // … so a directory named *.lock is not one
  'new\nline': ctx(`${tag}_var_lib_t`),
  escape: ctx(`${tag}_var_lib_t`), // the link itself
  untouched: undefined, // <<none>>: left alone
  'untouched/kept': ctx('kept_t'),
  'untouched/bare': undefined,
});
const labels = () => Object.fromEntries(Object.keys(expected('x')).map((p) => [p, labelOf(join(store, p))]));

describe('findDeploymentPolicy', () => {
  it("finds the default deployment's policy, which ostree admin deploy also labelled /etc with", () => {
    const d = deploy(sys.path, { selinux: { type: 'tpol', fileContexts: fileContexts('a') } });
    expect(labelOf(join(d.dir, 'etc/os-release'))).toBe(ctx('a_etc_t')); // the fixture is a labelled host
    expect(findDefaultDeployment(sys.path)).toBe(d.dir);
    expect(findDeploymentPolicy(sys.path)).toEqual({
      deployment: d.dir,
      type: 'tpol',
      fileContexts: join(d.dir, 'etc/selinux/tpol/contexts/files/file_contexts'),
    });
  });

  it('uses the default (highest version) deployment, and a booted one over it', () => {
    const first = deploy(sys.path, { selinux: { type: 'alpha', fileContexts: fileContexts('a') } });
    // A merge from a deployment with a policy would run semodule through bwrap: --no-merge, keeping the first.
    const second = deploy(sys.path, {
      selinux: { type: 'beta', fileContexts: fileContexts('b') },
      merge: false,
      retain: true,
    });
    expect(status(sys.path).map((d) => d.dir)).toEqual([second.dir, first.dir]);
    expect(findDeploymentPolicy(sys.path)).toMatchObject({ deployment: second.dir, type: 'beta' });
    // The host root is a deployment (as when booted from it): that one wins.
    expect(findDeploymentPolicy(sys.path, first.dir)).toMatchObject({ deployment: first.dir, type: 'alpha' });
    expect(findDeploymentPolicy(sys.path, tmp.path)).toMatchObject({ deployment: second.dir });
  });

  it('has no policy without a config, a type or a file_contexts, and none without deployments', () => {
    expect(findDeploymentPolicy(sys.path)).toBeUndefined();
    const d = deploy(sys.path, {});
    expect(findDefaultDeployment(sys.path)).toBe(d.dir);
    expect(findDeploymentPolicy(sys.path)).toBeUndefined();
    // /etc is the host's own configuration, written after deployment.
    mkdirSync(join(d.dir, 'etc/selinux'), { recursive: true });
    writeFileSync(join(d.dir, 'etc/selinux/config'), 'SELINUX=enforcing\n');
    expect(findDeploymentPolicy(sys.path)).toBeUndefined();
    writeFileSync(join(d.dir, 'etc/selinux/config'), 'SELINUX=enforcing\nSELINUXTYPE=missing\n');
    expect(findDeploymentPolicy(sys.path)).toBeUndefined();
  });

  it.each(['../../../tmp', 'a/b', '..', '.hidden', 'x y'])('refuses SELINUXTYPE=%s', (type) => {
    const d = deploy(sys.path, { selinux: { type: 'tpol', fileContexts: fileContexts('a') } });
    const config = join(d.dir, 'etc/selinux/config');
    writeFileSync(config, `SELINUX=enforcing\nSELINUXTYPE=${type}\n`);
    let err: (Error & { details: Record<string, unknown> }) | undefined;
    try {
      findDeploymentPolicy(sys.path);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.name).toBe('StorageFailure');
    expect(err?.message).toContain('SELINUXTYPE');
    expect(err?.details.path).toBe(config);
  });

  it('follows absolute links in the policy path inside the deployment, never on the host', () => {
    const d = deploy(sys.path, {
      files: { 'usr/share/selinux-real/config': 'SELINUXTYPE=tpol\n' },
      selinux: { type: 'tpol', fileContexts: fileContexts('a') },
    });
    const config = join(d.dir, 'etc/selinux/config');
    execFileSync('rm', [config]);
    symlinkSync('/usr/share/selinux-real/config', config); // the host has no /usr/share/selinux-real
    expect(existsSync('/usr/share/selinux-real')).toBe(false);
    expect(findDeploymentPolicy(sys.path)?.type).toBe('tpol');
  });
});

describe('relabelling the store', () => {
  it('labels every file as if it were under /var/lib/containers/storage, then ensureLabeled stamps it', async () => {
    const d = deploy(sys.path, { selinux: { type: 'tpol', fileContexts: fileContexts('a') } });
    const relabel = createDeploymentRelabeler(sys.path);
    let labelledBeforeStamp = false;
    const result = await ensureLabeled(store, async (dir) => {
      const done = await relabel(dir);
      labelledBeforeStamp = !existsSync(join(store, LABELED_STAMP)) && labelOf(store) !== undefined;
      return done;
    });
    expect(result).toBe('labeled');
    expect(labelledBeforeStamp).toBe(true);
    expect(existsSync(join(store, LABELED_STAMP))).toBe(true);
    expect(labels()).toEqual(expected('a'));
    expect(labelOf(outside)).toBeUndefined(); // a symlink's target is never labelled
    expect(labelOf(join(d.dir, 'etc/os-release'))).toBe(ctx('a_etc_t'));
    expect(await ensureLabeled(store, relabel)).toBe('already');
  });

  it('labels with the booted deployment when the host root is one, in small argv chunks too', async () => {
    const first = deploy(sys.path, { selinux: { type: 'alpha', fileContexts: fileContexts('a') } });
    deploy(sys.path, {
      selinux: { type: 'beta', fileContexts: fileContexts('b') },
      merge: false,
      retain: true,
    });
    expect(await createDeploymentRelabeler(sys.path, first.dir, undefined, { maxArgs: 2 })(store)).toBe(true);
    expect(labels()).toEqual(expected('a'));
    expect(await createDeploymentRelabeler(sys.path)(store)).toBe(true);
    expect(labels()).toEqual(expected('b'));
  });

  it('on composefs takes the running root’s own policy (no deployment directory is the booted root)', async () => {
    deploy(sys.path, { selinux: { type: 'tpol', fileContexts: fileContexts('a') } });
    // The booted composefs image's root: its own etc/selinux, with the "b" contexts.
    const root = join(tmp.path, 'composefs-root');
    mkdirSync(join(root, 'etc/selinux/rootpol/contexts/files'), { recursive: true });
    writeFileSync(join(root, 'etc/selinux/config'), 'SELINUX=enforcing\nSELINUXTYPE=rootpol\n');
    writeFileSync(join(root, 'etc/selinux/rootpol/contexts/files/file_contexts'), fileContexts('b'));
    expect(await createDeploymentRelabeler(sys.path, root, undefined, { composefs: true })(store)).toBe(true);
    expect(labels()).toEqual(expected('b'));
    // Not composefs: the default deployment's policy, as before.
    expect(await createDeploymentRelabeler(sys.path, root)(store)).toBe(true);
    expect(labels()).toEqual(expected('a'));
  });

  it('with no policy changes nothing and writes no stamp (the fallback decides)', async () => {
    deploy(sys.path, {});
    const before = labels();
    const asked: string[] = [];
    const fallback = async (dir: string) => {
      asked.push(dir);
      return false;
    };
    expect(await ensureLabeled(store, createDeploymentRelabeler(sys.path, '/', fallback))).toBe('no-policy');
    expect(asked).toEqual([store]);
    expect(labels()).toEqual(before);
    expect(existsSync(join(store, LABELED_STAMP))).toBe(false);
    // The default fallback, restorecon, does nothing without a loaded policy (none on these kernels).
    if (!isSelinuxEnabled()) expect(await createDeploymentRelabeler(sys.path)(store)).toBe(false);
  });

  it('names a missing tool and reports a failing one', async () => {
    const fc = join(tmp.path, 'fc');
    writeFileSync(fc, fileContexts('a'));
    await expect(relabelFromFileContexts(store, fc, { pathEnv: '/nonexistent' })).rejects.toMatchObject({
      name: 'ToolMissing',
      message: expect.stringContaining('matchpathcon'),
    });
    await expect(relabelFromFileContexts(store, join(tmp.path, 'no-such-fc'))).rejects.toMatchObject({
      name: 'StorageFailure',
      details: { path: store, exitCode: 255, stderrTail: expect.stringMatching(/file contexts/) },
    });
    expect(labelOf(store)).toBeUndefined();
  });
});
