// SELinux labels for the store from the policy of an ostree deployment, as upstream bootc does it: the booted
// deployment's (or, not booted from ostree, the default one's) file contexts, applied as if the store lived at
// /var/lib/containers/storage. Works without a loaded policy: matchpathcon answers from the file_contexts file
// and setfattr writes the `security.selinux` attributes, so this path is the same on a host and in tests.

import { lstatSync, readdirSync, type Stats, statSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createError } from '../errors.js';
// The ostree deployment logic lives with garbage collection, which needs it first (roots per deployment).
import { findBootedDeployment } from '../ostree/booted-deployment.js';
import { findExecutable } from '../process/find-executable.js';
import { runSupervised } from '../process/supervise.js';
import { readSmallText } from './read-small-file.js';
import { LABEL_AS_PATH, type Relabeler, relabelWithRestorecon } from './relabel.js';
import { resolveInRoot } from './resolve-inside.js';

/** The policy a deployment ships: its directory, the SELINUXTYPE name and its file_contexts file. */
export interface DeploymentPolicy {
  deployment: string;
  type: string;
  fileContexts: string;
}

/** Knobs of the labelling walk; the defaults suit a host. */
export interface RelabelOptions {
  /** PATH used to find matchpathcon and setfattr. */
  pathEnv?: string;
  /** Time limit of each matchpathcon/setfattr call. */
  timeoutMs?: number;
  /** Most paths in one argv (there is also a byte bound). */
  maxArgs?: number;
}

/** Boot entries and selinux/config are a few lines: a small regular file, never a link, FIFO or device. */
const MAX_SMALL_FILE_BYTES = 64 * 1024;
const MAX_ARG_BYTES = 64 * 1024;
const DEPLOYMENT_RE = /^ostree\/deploy\/[^/]+\/deploy\/[0-9a-f]{64}\.[0-9]+$/;
/** A plain directory name: what libselinux would join under /etc/selinux. */
const SELINUX_TYPE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const NO_LABEL = '<<none>>';

/** SELinux's names for file types, as `matchpathcon -m` takes them. */
type FileKind = 'file' | 'dir' | 'lnk_file' | 'chr_file' | 'blk_file' | 'sock_file' | 'fifo_file';

interface StoreEntry {
  path: string;
  /** Where the same file would be under /var/lib/containers/storage. */
  labelAs: string;
  kind: FileKind;
}

/** `rel` resolved under `root` as if it were `/` (a chroot's `..`); undefined when a component is missing. */
export function resolveInside(root: string, rel: string): string | undefined {
  const r = resolveInRoot(root, rel, { escape: 'clamp' });
  return r.ok ? r.path : undefined;
}

/**
 * The deployment the boot loader starts by default: the boot entry with the highest `version`, whose
 * `ostree=/ostree/boot.N/<stateroot>/<bootcsum>/<i>` symlink chain is followed inside the sysroot.
 */
export function findDefaultDeployment(sysroot: string): string | undefined {
  const entries = resolveInside(sysroot, 'boot/loader/entries');
  if (!entries) return undefined;
  let names: string[];
  try {
    names = readdirSync(entries).filter((n) => n.endsWith('.conf'));
  } catch {
    return undefined;
  }
  let best: { version: number; ostree: string } | undefined;
  for (const name of names.sort()) {
    const text = readSmallText(join(entries, name), MAX_SMALL_FILE_BYTES);
    if (text === undefined) continue;
    let version: number | undefined;
    let ostreeArg: string | undefined;
    for (const line of text.split('\n')) {
      const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(line);
      if (!m) continue;
      if (m[1] === 'version' && /^\d+$/.test(m[2]!)) version = Number(m[2]);
      if (m[1] === 'options') {
        ostreeArg = m[2]!
          .split(/\s+/)
          .find((a) => a.startsWith('ostree='))
          ?.slice('ostree='.length);
      }
    }
    if (version === undefined || !ostreeArg) continue;
    if (!best || version > best.version) best = { version, ostree: ostreeArg };
  }
  if (!best) return undefined;
  const dir = resolveInside(sysroot, best.ostree);
  if (!dir) return undefined;
  // Only a real deployment directory: <sysroot>/ostree/deploy/<stateroot>/deploy/<checksum>.<serial>.
  return DEPLOYMENT_RE.test(relative(sysroot, dir)) && statSync(dir).isDirectory() ? dir : undefined;
}

/**
 * The policy to label the store with: from the booted deployment, else from the default one. Undefined when
 * that deployment has no `etc/selinux/config`, no SELINUXTYPE or no file_contexts; a SELINUXTYPE that is not a
 * plain name is refused (StorageFailure), never joined into a path.
 */
export function findDeploymentPolicy(sysroot: string, hostRoot = '/'): DeploymentPolicy | undefined {
  const deployment = findBootedDeployment(sysroot, hostRoot) ?? findDefaultDeployment(sysroot);
  return deployment === undefined ? undefined : readPolicy(deployment);
}

/**
 * The policy a root file system names in its own etc/selinux (a deployment, or a composefs host's running
 * root); undefined when it names none or its file contexts are missing.
 */
export function readPolicy(deployment: string): DeploymentPolicy | undefined {
  const config = resolveInside(deployment, 'etc/selinux/config');
  const text = config === undefined ? undefined : readSmallText(config, MAX_SMALL_FILE_BYTES);
  if (config === undefined || text === undefined) return undefined;
  let type: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('SELINUXTYPE=')) {
      type = line.slice('SELINUXTYPE='.length).trim();
      break; // libselinux takes the first one
    }
  }
  if (!type) return undefined;
  if (!SELINUX_TYPE_RE.test(type)) {
    const shown = JSON.stringify(type.slice(0, 100));
    throw createError('StorageFailure', `${config}: SELINUXTYPE=${shown} is not a policy name`, {
      path: config,
    });
  }
  const fileContexts = resolveInside(deployment, `etc/selinux/${type}/contexts/files/file_contexts`);
  if (!fileContexts || !isRegularFile(fileContexts)) return undefined;
  return { deployment, type, fileContexts };
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

const KINDS = [
  ['isFile', 'file'],
  ['isDirectory', 'dir'],
  ['isSymbolicLink', 'lnk_file'],
  ['isCharacterDevice', 'chr_file'],
  ['isBlockDevice', 'blk_file'],
  ['isSocket', 'sock_file'],
  ['isFIFO', 'fifo_file'],
] as const;

/** Every file of the store, never following symlinks and never leaving the store's file system. */
async function walkStore(storeDir: string): Promise<StoreEntry[]> {
  const root = await lstat(storeDir);
  if (!root.isDirectory()) {
    throw createError('StorageFailure', `${storeDir} is not a directory; cannot label it`, {
      path: storeDir,
    });
  }
  const found: StoreEntry[] = [{ path: storeDir, labelAs: LABEL_AS_PATH, kind: 'dir' }];
  const dirs: [string, string][] = [[storeDir, LABEL_AS_PATH]];
  while (dirs.length > 0) {
    const [dir, labelAs] = dirs.pop()!;
    let names: Buffer[];
    try {
      names = await readdir(dir, { encoding: 'buffer' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw createError(
        'StorageFailure',
        `cannot read ${dir}: ${(err as Error).message}`,
        { path: dir },
        err,
      );
    }
    for (const raw of names) {
      const name = raw.toString('utf8');
      // A name that is not UTF-8 cannot be passed in an argv from Node; it keeps the label it has.
      if (!Buffer.from(name, 'utf8').equals(raw)) continue;
      const path = join(dir, name);
      let st: Stats;
      try {
        st = await lstat(path);
      } catch {
        continue; // removed meanwhile
      }
      if (st.dev !== root.dev) continue; // something mounted inside the store is not the store's to label
      const kind = KINDS.find(([is]) => st[is]())?.[1];
      if (!kind) continue;
      found.push({ path, labelAs: `${labelAs}/${name}`, kind });
      if (kind === 'dir') dirs.push([path, `${labelAs}/${name}`]);
    }
  }
  return found;
}

/** Splits `items` into argv-sized chunks: at most `maxArgs` items and about MAX_ARG_BYTES of text each. */
function chunk<T>(items: T[], size: (item: T) => number, maxArgs: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item) + 1;
    if (current.length > 0 && (current.length >= maxArgs || bytes + n > MAX_ARG_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Runs a tool (argv, no shell) with a time limit; resolves its stdout, rejects with StorageFailure. */
async function runTool(
  program: string,
  args: string[],
  storeDir: string,
  timeoutMs: number,
): Promise<string> {
  const r = await runSupervised(program, args, {
    timeoutMs,
    killGraceMs: 0, // SIGKILL at once: a labelling tool has nothing to clean up
    captureStdout: true, // one short line per path, far below the runner's stdout cap
    stderrTailChars: 4096,
  });
  if (r.spawnError) {
    const err = r.spawnError;
    throw createError('StorageFailure', `cannot run ${program}: ${err.message}`, { path: storeDir }, err);
  }
  if (r.exitCode === 0) return r.stdout;
  const timedOut = r.stopped === 'timeout';
  const why = timedOut
    ? `timed out after ${timeoutMs} ms`
    : r.stopped === 'overflow'
      ? 'printed more than allowed'
      : `exited ${r.exitCode ?? r.signal}`;
  throw createError('StorageFailure', `labelling ${storeDir}: ${program} ${why}`, {
    path: storeDir,
    exitCode: r.exitCode,
    signal: r.signal,
    stderrTail: r.stderrTail,
    reason: timedOut ? 'timed out' : undefined,
  });
}

function requireTool(name: string, pathEnv: string | undefined): string {
  const found = findExecutable(name, pathEnv);
  if (!found) {
    throw createError('ToolMissing', `${name} is needed to label the image store but is not installed`, {
      program: name,
    });
  }
  return found;
}

/**
 * Labels every file of `storeDir` with the context `fileContexts` gives its path under
 * /var/lib/containers/storage (`<<none>>`: left alone). Symlinks themselves are labelled, never their targets.
 */
export async function relabelFromFileContexts(
  storeDir: string,
  fileContexts: string,
  opts: RelabelOptions = {},
): Promise<void> {
  const pathEnv = opts.pathEnv ?? process.env.PATH;
  const matchpathcon = requireTool('matchpathcon', pathEnv);
  const setfattr = requireTool('setfattr', pathEnv);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxArgs = opts.maxArgs ?? 500;
  const entries = await walkStore(storeDir);

  const byContext = new Map<string, string[]>();
  const kinds = [...new Set(entries.map((e) => e.kind))];
  for (const kind of kinds) {
    const ofKind = entries.filter((e) => e.kind === kind);
    for (const part of chunk(ofKind, (e) => Buffer.byteLength(e.labelAs), maxArgs)) {
      const args = ['-N', '-n', '-m', kind, '-f', fileContexts, ...part.map((e) => e.labelAs)];
      const out = await runTool(matchpathcon, args, storeDir, timeoutMs);
      // One context per path, in argv order; contexts never hold a newline, paths may.
      const contexts = out.split('\n');
      if (contexts.at(-1) === '') contexts.pop();
      const bad = contexts.length !== part.length ? '' : contexts.find((c) => !/^\S+$/.test(c));
      if (bad !== undefined) {
        const what = `matchpathcon gave ${contexts.length} labels for ${part.length} paths`;
        throw createError('StorageFailure', `labelling ${storeDir}: ${what}`, {
          path: storeDir,
          output: out,
        });
      }
      for (const [i, context] of contexts.entries()) {
        if (context === NO_LABEL) continue;
        const same = byContext.get(context);
        if (same) same.push(part[i]!.path);
        else byContext.set(context, [part[i]!.path]);
      }
    }
  }

  for (const [context, paths] of byContext) {
    // Hex with the trailing NUL, as libselinux's setfilecon writes it (and never read as setfattr's 0x/0s syntax).
    const value = `0x${Buffer.from(`${context}\0`, 'utf8').toString('hex')}`;
    for (const part of chunk(paths, (p) => Buffer.byteLength(p), maxArgs)) {
      const args = ['-h', '-n', 'security.selinux', '-v', value, '--', ...part];
      await runTool(setfattr, args, storeDir, timeoutMs);
    }
  }
}

/**
 * The default relabeler for a store in `sysroot`: the policy of the booted (else default) deployment; with no
 * policy there, `fallback` (restorecon, which acts only when the host has a loaded policy).
 */
export function createDeploymentRelabeler(
  sysroot: string,
  hostRoot = '/',
  fallback: Relabeler = relabelWithRestorecon,
  opts: RelabelOptions & { composefs?: boolean } = {},
): Relabeler {
  return async (storeDir) => {
    // On composefs the running root is the booted image (no deployment directory matches it): its own
    // policy, as upstream does; else the booted, then the default deployment's.
    const policy =
      (opts.composefs ? readPolicy(hostRoot) : undefined) ?? findDeploymentPolicy(sysroot, hostRoot);
    if (!policy) return fallback(storeDir);
    await relabelFromFileContexts(storeDir, policy.fileContexts, opts);
    return true;
  };
}
