// Test sysroots made by the real ostree tool, laid out as on a bootc host: `ostree admin init-fs`, a stateroot,
// commits of small trees carrying bound-image quadlets (and optionally an SELinux policy), and
// `ostree admin deploy`, so deployments, origin files, boot entries and /etc labels are what ostree makes.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTempDir } from './tmp.js';

/** A deployment as ostree made it. */
export interface OstreeDeployment {
  /** `<sysroot>/ostree/deploy/<stateroot>/deploy/<checksum>.<serial>` */
  dir: string;
  stateroot: string;
  checksum: string;
  serial: number;
}

/** What to put into the committed tree and how to deploy it. */
export interface DeployOptions {
  /**
   * Make usr/lib/bootc/bound-images.d a symlink with this target (the quadlet links then live in
   * usr/share/bootc-bound-images), e.g. `/usr/share/bootc-bound-images` (absolute) or a relative one.
   */
  boundImagesDirLink?: string;
  stateroot?: string;
  /** Branch the tree is committed to; default `test/<stateroot>`. */
  ref?: string;
  /** name → quadlet text under usr/share/containers/systemd, each linked from usr/lib/bootc/bound-images.d. */
  quadlets?: Record<string, string>;
  /** Link quadlets with relative targets instead of absolute ones. */
  relativeLinks?: boolean;
  /** Extra files: path inside the tree (e.g. `usr/etc/x`) → content. */
  files?: Record<string, string>;
  /** Extra symlinks: path inside the tree → target. */
  symlinks?: Record<string, string>;
  /** Host image reference with its ostree transport, e.g. `ostree-unverified-registry:quay.io/x/os:1`. */
  origin?: string;
  /** An SELinux policy: its type name and file_contexts text (the rules must cover `/`). */
  selinux?: { type: string; fileContexts: string };
  /** `--retain`: keep every earlier deployment (ostree otherwise keeps only the previous default). */
  retain?: boolean;
  /**
   * false: `--no-merge`. Merging /etc from a deployment that has an SELinux policy makes ostree run semodule in
   * the new deployment through /usr/bin/bwrap, which may not be installed; combine with `retain`.
   */
  merge?: boolean;
  /**
   * Leave the deployment directory mutable (`OSTREE_SYSROOT_DEBUG=mutable-deployments`); ostree otherwise sets
   * the immutable attribute on it, as on a host, and only `removeSysroot`/`makeMutable` can delete it then.
   */
  mutable?: boolean;
}

const KERNEL = 'usr/lib/modules/6.1.0/vmlinuz';
const DEPLOYMENT_DIR = /^[0-9a-f]{64}\.[0-9]+$/;
const STATUS_LINE = /^[* ] (\S+) ([0-9a-f]{64})\.(\d+)(?: \(\w+\))?$/;

/** Runs ostree; its stderr is in the thrown error so a broken fixture explains itself. */
function ostree(args: string[], env?: NodeJS.ProcessEnv): string {
  try {
    return execFileSync('ostree', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
      env: { ...process.env, ...env },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ostree ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Deploys a commit already in the repository by its ref (`ostree admin deploy`), as bootc applies a fetched update. */
export function deployRef(sysroot: string, ref: string, stateroot = 'default'): void {
  ostree(['admin', 'deploy', `--sysroot=${sysroot}`, `--os=${stateroot}`, ref]);
}

/** Makes `dir` an ostree sysroot with one stateroot (as `ostree admin init-fs` + `os-init`); returns `dir`. */
export function createSysroot(dir: string, opts: { stateroot?: string; readonly?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  ostree(['admin', 'init-fs', dir]);
  ostree(['admin', 'os-init', `--sysroot=${dir}`, opts.stateroot ?? 'default']);
  if (opts.readonly)
    ostree(['config', `--repo=${join(dir, 'ostree/repo')}`, 'set', 'sysroot.readonly', 'true']);
  return dir;
}

/** Builds the tree `opts` describes under `tmpPath` and commits it to the sysroot's repo; returns the checksum. */
function commitTree(sysroot: string, opts: DeployOptions, tmpPath: string): string {
  const stateroot = opts.stateroot ?? 'default';
  const tree = join(tmpPath, 'tree');
  const put = (rel: string, content: string) => {
    mkdirSync(dirname(join(tree, rel)), { recursive: true });
    writeFileSync(join(tree, rel), content);
  };
  const link = (rel: string, target: string) => {
    mkdirSync(dirname(join(tree, rel)), { recursive: true });
    symlinkSync(target, join(tree, rel));
  };
  put(KERNEL, 'not a kernel\n');
  const osRelease = 'ID=bsd-test\nNAME="bootc-storaged test OS"\nVERSION_ID=1\n';
  put('usr/lib/os-release', osRelease);
  put('usr/etc/os-release', osRelease);
  // bound-images.d itself may be a symlink (to a directory elsewhere in the image) instead of a directory.
  const boundDir = opts.boundImagesDirLink ? 'usr/share/bootc-bound-images' : 'usr/lib/bootc/bound-images.d';
  mkdirSync(join(tree, boundDir), { recursive: true });
  if (opts.boundImagesDirLink) link('usr/lib/bootc/bound-images.d', opts.boundImagesDirLink);
  for (const [name, text] of Object.entries(opts.quadlets ?? {})) {
    put(`usr/share/containers/systemd/${name}`, text);
    link(
      `${boundDir}/${name}`,
      opts.relativeLinks
        ? `../../../share/containers/systemd/${name}`
        : `/usr/share/containers/systemd/${name}`,
    );
  }
  if (opts.selinux) {
    const { type, fileContexts } = opts.selinux;
    put('usr/etc/selinux/config', `SELINUX=enforcing\nSELINUXTYPE=${type}\n`);
    put(`usr/etc/selinux/${type}/contexts/files/file_contexts`, fileContexts);
    put(`usr/etc/selinux/${type}/policy/policy.33`, 'not a policy\n'); // ostree checksums policy/
  }
  for (const [rel, content] of Object.entries(opts.files ?? {})) put(rel, content);
  for (const [rel, target] of Object.entries(opts.symlinks ?? {})) link(rel, target);

  const ref = opts.ref ?? `test/${stateroot}`;
  return ostree([
    `--repo=${join(sysroot, 'ostree/repo')}`,
    'commit',
    '-b',
    ref,
    `--tree=dir=${tree}`,
    '--owner-uid=0',
    '--owner-gid=0',
  ]).trim();
}

/** Runs `ostree admin os-init` for a stateroot the sysroot does not have yet. */
function ensureStateroot(sysroot: string, stateroot: string): void {
  if (!existsSync(join(sysroot, 'ostree/deploy', stateroot))) {
    ostree(['admin', 'os-init', `--sysroot=${sysroot}`, stateroot]);
  }
}

/**
 * ostree-ext's ref escaping (refescape.rs), written here from its rules so the daemon's unescaping is checked
 * against an independent encoder: ASCII alphanumerics and `-` stay, `/` stays after an alphanumeric when more
 * follows, `_` becomes `__`, anything else `_<hex>_`.
 */
export function escapeForRef(s: string): string {
  let out = '';
  let previousAlnum = false;
  const chars = [...s];
  chars.forEach((c, i) => {
    const alnum = /^[A-Za-z0-9]$/.test(c);
    if (alnum || c === '-') out += c;
    else if (c === '/' && previousAlnum && i < chars.length - 1) out += c;
    else if (c === '_') out += '__';
    else out += `_${c.codePointAt(0)!.toString(16).toUpperCase().padStart(2, '0')}_`;
    previousAlnum = alnum;
  });
  return out;
}

/**
 * What `bootc upgrade --download-only` leaves: the image's tree committed under the ref
 * `ostree/container/image/<escaped image reference>` (ostree-ext's IMAGE_PREFIX), never deployed. Returns the
 * commit checksum and the ref.
 */
export function fetchUpdate(
  sysroot: string,
  image: string,
  opts: Omit<DeployOptions, 'ref' | 'origin'> = {},
): { commit: string; ref: string } {
  const ref = `ostree/container/image/${escapeForRef(image)}`;
  const tmp = makeTempDir('bsd-ostree-tree-');
  try {
    return { commit: commitTree(sysroot, { ...opts, ref }, tmp.path), ref };
  } finally {
    tmp.remove();
  }
}

/** Deletes a ref (as bootc's cleanup does once nothing needs the image any more). */
export function deleteRef(sysroot: string, ref: string): void {
  ostree([`--repo=${join(sysroot, 'ostree/repo')}`, 'refs', '--delete', ref]);
}

/** Commits a tree built from `opts` and deploys it as the new default deployment; returns that deployment. */
export function deploy(sysroot: string, opts: DeployOptions = {}): OstreeDeployment {
  const stateroot = opts.stateroot ?? 'default';
  ensureStateroot(sysroot, stateroot);
  const tmp = makeTempDir('bsd-ostree-tree-');
  try {
    const checksum = commitTree(sysroot, opts, tmp.path);
    const ref = opts.ref ?? `test/${stateroot}`;
    const args = ['admin', 'deploy', `--sysroot=${sysroot}`, `--os=${stateroot}`];
    if (opts.origin !== undefined) {
      const originFile = join(tmp.path, 'origin');
      writeFileSync(originFile, `[origin]\ncontainer-image-reference=${opts.origin}\n`);
      args.push(`--origin-file=${originFile}`);
    }
    if (opts.retain) args.push('--retain');
    if (opts.merge === false) args.push('--no-merge');
    ostree([...args, ref], opts.mutable ? { OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } : {});
    // The new deployment is the first of the list; the same commit deployed again gets the next serial.
    const found = status(sysroot).find((d) => d.checksum === checksum && d.stateroot === stateroot);
    if (!found || !existsSync(found.dir)) throw new Error(`ostree admin status does not list ${checksum}`);
    return found;
  } finally {
    tmp.remove();
  }
}

/** Every deployment in ostree's order (index 0 is the default, as `undeploy` counts). */
export function status(sysroot: string): OstreeDeployment[] {
  const out = ostree(['admin', 'status', `--sysroot=${sysroot}`]);
  const found: OstreeDeployment[] = [];
  for (const line of out.split('\n')) {
    const m = STATUS_LINE.exec(line);
    if (!m) continue;
    const [, stateroot, checksum, serial] = m as unknown as [string, string, string, string];
    const dir = join(sysroot, 'ostree/deploy', stateroot, 'deploy', `${checksum}.${serial}`);
    found.push({ dir, stateroot, checksum, serial: Number(serial) });
  }
  return found;
}

/** `ostree admin undeploy INDEX`, or of the deployment whose directory is given. */
export function undeploy(sysroot: string, which: number | string): void {
  const index = typeof which === 'number' ? which : status(sysroot).findIndex((d) => d.dir === which);
  if (index < 0) throw new Error(`${which} is not a deployment of ${sysroot}`);
  ostree(['admin', 'undeploy', `--sysroot=${sysroot}`, String(index)]);
}

/** Clears the immutable attribute ostree puts on deployment directories, so the tree can be removed. */
export function makeMutable(sysroot: string): void {
  const deployRoot = join(sysroot, 'ostree/deploy');
  const dirs: string[] = [];
  for (const stateroot of existsSync(deployRoot) ? readdirSync(deployRoot) : []) {
    const base = join(deployRoot, stateroot, 'deploy');
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) if (DEPLOYMENT_DIR.test(name)) dirs.push(join(base, name));
  }
  if (dirs.length > 0)
    execFileSync('chattr', ['-i', '--', ...dirs], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A temp dir made an ostree sysroot; remove() also deletes its (immutable) deployments. */
export function makeTempSysroot(
  prefix = 'bsd-sysroot-',
  opts: { stateroot?: string; readonly?: boolean } = {},
): { path: string; remove: () => void } {
  const tmp = makeTempDir(prefix);
  const remove = () => {
    if (existsSync(tmp.path)) makeMutable(tmp.path);
    tmp.remove();
  };
  try {
    createSysroot(tmp.path, opts);
  } catch (err) {
    remove();
    throw err;
  }
  return { path: tmp.path, remove };
}

/** A `.image` quadlet naming `image`. */
export const imageQuadlet = (image: string) => `[Unit]\nDescription=bound\n\n[Image]\nImage=${image}\n`;

/** A `.container` quadlet running `image`. */
export const containerQuadlet = (image: string) =>
  `[Unit]\nDescription=app\n\n[Container]\nImage=${image}\nExec=/bin/true\n\n[Install]\nWantedBy=default.target\n`;

type GlibCalls = {
  parse: (type: null, text: string, limit: null, end: null, error: null) => unknown;
  size: (v: unknown) => number | bigint;
  data: (v: unknown) => unknown;
  unref: (v: unknown) => void;
  decode: (ptr: unknown, type: string, len: number) => number[];
};
let glib: GlibCalls | undefined;

/** GLib's own GVariant text parser and serializer (libglib-2.0 through koffi): bytes as libostree writes them. */
export async function serializeGVariant(text: string): Promise<Buffer> {
  if (!glib) {
    const { default: koffi } = await import('koffi');
    const lib = koffi.load('libglib-2.0.so.0');
    glib = {
      parse: lib.func(
        'void *g_variant_parse(void *type, const char *text, void *limit, void *end, void *err)',
      ),
      size: lib.func('size_t g_variant_get_size(void *v)'),
      data: lib.func('const void *g_variant_get_data(void *v)'),
      unref: lib.func('void g_variant_unref(void *v)'),
      decode: (ptr, type, len) => koffi.decode(ptr, type, len) as number[],
    };
  }
  const v = glib.parse(null, text, null, null, null);
  if (!v) throw new Error(`GLib cannot parse the GVariant text ${text}`);
  try {
    const n = Number(glib.size(v));
    return Buffer.from(n === 0 ? [] : glib.decode(glib.data(v), 'uint8_t', n));
  } finally {
    glib.unref(v);
  }
}

const gvString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Stages a deployment as `ostree admin deploy --stage` leaves it on a booted host (which that command needs):
 * the commit checked out as `<checksum>.<serial>` with its `.origin`, no boot entry, and
 * `<runDir>/ostree/staged-deployment` naming it (GLib-serialized, as libostree writes it). Call it after the
 * last `deploy`: a later deploy's cleanup removes deployments without a boot entry.
 */
export async function stage(
  sysroot: string,
  runDir: string,
  opts: DeployOptions = {},
): Promise<OstreeDeployment> {
  const stateroot = opts.stateroot ?? 'default';
  ensureStateroot(sysroot, stateroot);
  const tmp = makeTempDir('bsd-ostree-tree-');
  try {
    const checksum = commitTree(sysroot, opts, tmp.path);
    const base = join(sysroot, 'ostree/deploy', stateroot, 'deploy');
    const serials = readdirSync(base)
      .filter((n) => DEPLOYMENT_DIR.test(n) && n.startsWith(`${checksum}.`))
      .map((n) => Number(n.slice(65)));
    const serial = serials.length === 0 ? 0 : Math.max(...serials) + 1;
    const dir = join(base, `${checksum}.${serial}`);
    ostree([`--repo=${join(sysroot, 'ostree/repo')}`, 'checkout', checksum, dir]);
    const origin =
      opts.origin === undefined
        ? `refspec=${opts.ref ?? `test/${stateroot}`}`
        : `container-image-reference=${opts.origin}`;
    writeFileSync(`${dir}.origin`, `[origin]\n${origin}\n`);
    await writeStagedRecord(runDir, { name: `${checksum}.${serial}`, osname: stateroot });
    return { dir, stateroot, checksum, serial };
  } finally {
    tmp.remove();
  }
}

/** Writes `<runDir>/ostree/staged-deployment` naming `name` (`<checksum>.<serial>`) in stateroot `osname`. */
export async function writeStagedRecord(
  runDir: string,
  target: { name: string; osname: string },
): Promise<void> {
  const bootcsum = '0'.repeat(64); // the kernel's checksum in a real record; nothing here reads it
  const text = `{'target': <{'name': <${gvString(target.name)}>, 'osname': <${gvString(target.osname)}>, 'bootcsum': <'${bootcsum}'>}>, 'kargs': <['rw']>}`;
  mkdirSync(join(runDir, 'ostree'), { recursive: true });
  writeFileSync(join(runDir, 'ostree/staged-deployment'), await serializeGVariant(text));
}

/**
 * Writes `<runDir>/ostree-booted` as ostree-prepare-root does on a composefs root: `backing-root-device-inode`
 * is the (device, inode) of `deploymentDir`, the deployment `/` is really running from.
 */
export async function writeOstreeBooted(runDir: string, deploymentDir: string): Promise<void> {
  const st = statSync(deploymentDir, { bigint: true });
  const text = `{'backing-root-device-inode': <(uint64 ${st.dev}, uint64 ${st.ino})>, 'composefs': <true>}`;
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'ostree-booted'), await serializeGVariant(text));
}
