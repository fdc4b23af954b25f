// The storage engine: one bootc-owned containers-storage instance and every operation on it. Each podman call
// runs in a private mount namespace with the store bind-mounted at /run/bootc/storage, the runroot as fd 3 and
// the sysroot's credentials as an anonymous fd. Transports and the job queue sit on top of this class.

import { closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { createError, isStorageError } from '../errors.js';
import { createAnonymousFile, readAuthSource } from './auth.js';
import * as copyPull from './copy-pull.js';
import { forgetNetworkBackend, initializeStore, readChangeToken } from './create-store.js';
import { copyFromHost } from './host-copy.js';
import { isRecordsMiss, readImageRecords } from './image-records.js';
import { type ImageEntry, parseImageList } from './parse-image-list.js';
import { parsePullProgressLine } from './parse-pull-progress.js';
import { buildPodmanEnv, resolveToolchain } from './podman-env.js';
import { type ImageReference, parseReference } from './reference.js';
import { queryRemoteSize, type RemoteSizeAnswer } from './remote-size.js';
import type { CallOptions, PruneOptions, RemovalContext, RemovalOptions } from './removal.js';
import { pruneImages, removeImages } from './removal.js';
import {
  assertSuccess,
  lastLine,
  RUNROOT_FD,
  type RunInStoreOptions,
  type RunInStoreResult,
  runInStore,
  STORAGE_ALIAS_DIR,
  type Toolchain,
} from './run-in-store.js';
import { createDeploymentRelabeler } from './selinux-label.js';
import { policyRejectionOf } from './signature-rejection.js';
import { prepareStoreLocation } from './store-location.js';
import {
  DEFAULT_PULL_TIMEOUT_MS,
  type FetchedImage,
  type PullOptions,
  type StoreOptions,
} from './store-options.js';
import { acquireSysrootLock, type SysrootLock } from './sysroot-lock.js';
import { ensureWritable, inOwnMountNamespace } from './writable.js';

/** The store, relative to the sysroot. */
export const STORE_SUBPATH = 'ostree/bootc/storage';
/** The runroot, relative to the run directory. */
export const RUNROOT_SUBPATH = 'bootc/storage';

export type { RemoteSize } from './manifest.js';
export type { RemoteSizeAnswer } from './remote-size.js';
export type { CallOptions, RemovalOptions } from './removal.js';
export type { FetchedImage, StoreOptions } from './store-options.js';

type RunOpts = Partial<RunInStoreOptions> & {
  extraEnv?: Record<string, string> | undefined;
  /** The call talks to a registry: hand it the sysroot's credentials. */
  registry?: boolean;
};

const NO_AUTH = { path: undefined, content: Buffer.from('{}') };

export class Store {
  readonly sysroot: string;
  readonly storePath: string;
  readonly runrootPath: string;
  readonly stateDir: string;
  private readonly authRoot: string;
  private readonly tools: Toolchain;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private readonly opts: StoreOptions;
  private runrootFd: number | undefined;
  /** skopeo, where it pulls exactly as podman would (copy-pull.ts); undefined: podman pulls. */
  private readonly copier: string | undefined;

  private constructor(opts: StoreOptions, tools: Toolchain, runrootFd: number) {
    this.opts = opts;
    this.sysroot = opts.sysroot;
    this.storePath = join(opts.sysroot, STORE_SUBPATH);
    this.runrootPath = join(opts.run, RUNROOT_SUBPATH);
    this.stateDir = join(opts.run, 'bootc-storaged');
    this.authRoot = opts.authRoot ?? opts.sysroot;
    this.tools = tools;
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.runrootFd = runrootFd;
    this.env = buildPodmanEnv(opts.env ?? process.env, join(this.stateDir, 'empty-home'));
    this.copier =
      opts.copier === 'podman' ? undefined : copyPull.findEquivalentCopier(tools.podman, this.env);
  }

  /** Creates the store if it is missing (via storage.tmp → rename), labels it, then opens it. */
  static async create(opts: StoreOptions): Promise<Store> {
    const tools = resolveToolchain(opts.podman, opts.env?.PATH ?? process.env.PATH);
    const log = opts.logger ?? pino({ level: 'silent' });
    // ostree/bootc (or its composefs home) exists and is writable in our namespace from here on.
    const { storePath, layout } = await prepareStoreLocation(opts.sysroot, {
      layout: opts.layout,
      ownNamespace: Store.ownNamespace(opts),
    });
    log.debug({ store: storePath, layout }, 'store location ready');
    // Labels from the booted (else default) deployment's policy, as if the store were /var/lib/containers/storage.
    const relabel =
      opts.relabel ??
      createDeploymentRelabeler(opts.sysroot, '/', undefined, { composefs: layout === 'composefs' });
    await initializeStore(storePath, relabel, log, async (tmp) => {
      const bootstrap = Store.prepare(opts, tools);
      try {
        return await bootstrap.runIn(tmp, ['image', 'list', '--quiet'], {
          timeoutMs: opts.writeTimeoutMs ?? 120_000,
        });
      } finally {
        bootstrap.close();
      }
    });
    forgetNetworkBackend(storePath, log);
    return Store.open(opts, tools);
  }

  private static ownNamespace(opts: StoreOptions): boolean {
    return opts.ownNamespace ?? inOwnMountNamespace(opts.env ?? process.env);
  }

  /**
   * Takes libostree's sysroot lock (`ostree/lock`, an OFD write lock), waiting while bootc, ostree or
   * rpm-ostree hold it. The lock file's directory is made writable in our namespace first.
   */
  async lockSysroot(opts: {
    signal?: AbortSignal;
    timeoutMs?: number;
    onWaiting?: () => void;
  }): Promise<SysrootLock> {
    await ensureWritable(join(this.sysroot, 'ostree'), { ownNamespace: Store.ownNamespace(this.opts) });
    return acquireSysrootLock(this.sysroot, opts);
  }

  /** Opens an existing store; never initializes one. */
  static open(opts: StoreOptions, tools?: Toolchain): Store {
    const toolchain = tools ?? resolveToolchain(opts.podman, opts.env?.PATH ?? process.env.PATH);
    const storePath = join(opts.sysroot, STORE_SUBPATH);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(storePath);
    } catch (err) {
      throw createError(
        'StorageFailure',
        `the image store ${storePath} does not exist`,
        { path: storePath },
        err,
      );
    }
    if (!st.isDirectory())
      throw createError('StorageFailure', `${storePath} is not a directory`, { path: storePath });
    return Store.prepare(opts, toolchain);
  }

  private static prepare(opts: StoreOptions, tools: Toolchain): Store {
    // The alias must exist on the host as an (empty) mount point; upstream creates it the same way. Without
    // the right to create it (an unprivileged test), the bind mount itself fails later with a named error.
    try {
      mkdirSync(STORAGE_ALIAS_DIR, { recursive: true });
    } catch {
      // reported by the first podman call
    }
    const runroot = join(opts.run, RUNROOT_SUBPATH);
    mkdirSync(runroot, { recursive: true, mode: 0o700 });
    mkdirSync(join(opts.run, 'bootc-storaged', 'empty-home'), { recursive: true, mode: 0o700 });
    // Opened before any bind mount, so fd 3 names the real runroot even when it sits under the alias path.
    const fd = openSync(runroot, constants.O_RDONLY | constants.O_DIRECTORY);
    return new Store(opts, tools, fd);
  }

  /** Releases the runroot fd. */
  close(): void {
    if (this.runrootFd !== undefined) closeSync(this.runrootFd);
    this.runrootFd = undefined;
  }

  /** Environment that makes another tool see this store read-only as an additional image store. */
  additionalImageStoreEnv(): Record<string, string> {
    return { STORAGE_OPTS: `additionalimagestore=${this.storePath}` };
  }

  /** Every image in the store, one entry per image ID. */
  async list(opts: CallOptions = {}): Promise<ImageEntry[]> {
    // The store's own records first (image-records.ts: podman 4.3's list is quadratic in the store), podman
    // whenever they cannot say exactly.
    if (this.opts.imageRecords !== false) {
      const records = readImageRecords(this.storePath, () => this.changeToken());
      if (!isRecordsMiss(records)) return records;
      this.log.debug({ reason: records.reason }, 'image records unusable: asking podman');
    }
    return this.listWithPodman(opts);
  }

  /** Every image as `podman image list` prints it (the fallback of list(), and its reference in the tests). */
  async listWithPodman(opts: CallOptions = {}): Promise<ImageEntry[]> {
    const result = await this.podman(['image', 'list', '--format=json'], {
      signal: opts.signal,
      captureStdout: true,
      timeoutMs: this.opts.readTimeoutMs ?? 120_000,
    });
    return parseImageList(assertSuccess(result, 'listing images').stdout);
  }

  /** True if the reference names an image in the store; podman exit codes other than 0/1 are errors. */
  async exists(input: string, opts: CallOptions = {}): Promise<boolean> {
    const ref = parseReference(input);
    const result = await this.podman(['image', 'exists', '--', ref.canonical], {
      signal: opts.signal,
      timeoutMs: this.opts.readTimeoutMs ?? 120_000,
    });
    if (result.exitCode === 0) return true;
    if (result.exitCode === 1) return false;
    assertSuccess(result, `checking ${ref.canonical}`);
    return false;
  }

  /**
   * Fetches `ref` from its registry into the store, always: whether a pull fetches at all is the core's
   * decision (core/pull-decision.ts). Returns the ID the reference names afterwards.
   */
  async pull(ref: ImageReference, opts: PullOptions = {}): Promise<FetchedImage> {
    this.log.info({ image: ref.canonical, copier: this.copier ?? 'podman' }, 'pulling image');
    let configId: string | undefined;
    let result: RunInStoreResult;
    try {
      const common = {
        registry: true,
        signal: opts.signal,
        extraEnv: opts.tmpDir === undefined ? undefined : { TMPDIR: opts.tmpDir },
        timeoutMs: opts.timeoutMs ?? this.pullTimeoutMs,
        onStderrLine: (line: string) => {
          configId ??= this.copier ? copyPull.configIdOf(line) : undefined;
          const event = parsePullProgressLine(line);
          if (event) opts.onProgress?.(event);
        },
      };
      // skopeo where it is the same pull (copy-pull.ts: ~25 ms less start-up per pull), else podman.
      result = this.copier
        ? await this.run(this.storePath, copyPull.copyArgs(ref, this.env, opts.tmpDir), {
            ...common,
            program: this.copier,
            stdoutToStderr: true,
            runrootFd: this.runrootFd,
          })
        : await this.podman(['image', 'pull', '--', ref.canonical], { ...common, captureStdout: true });
    } catch (err) {
      throw isStorageError(err, 'TimedOut') ? copyPull.asPullFailed(err, ref) : err;
    }
    if (result.exitCode !== 0) {
      const why = this.copier ? copyPull.copierMessage(result.stderrTail) : result.stderrTail;
      const rejected = policyRejectionOf(why);
      if (rejected !== undefined) {
        throw createError(
          'SignatureRejected',
          `${ref.canonical} was rejected by the signature policy: ${rejected}`,
          { image: ref.canonical, reason: rejected, exitCode: result.exitCode },
        );
      }
      throw createError('PullFailed', `pulling ${ref.canonical} failed: ${lastLine(why)}`, {
        exitCode: result.exitCode,
        stderrTail: result.stderrTail,
        image: ref.canonical,
      });
    }
    const id = this.copier
      ? (configId ?? copyPull.storedIdOf(this.storePath, ref.canonical))
      : result.stdout.trim().split('\n').at(-1)?.trim() || undefined;
    return { id };
  }

  /**
   * Asks the registry (through skopeo, with the same credentials and registries.conf) how many bytes and
   * layers a pull of `input` fetches; without a usable answer, says why (remote-size.ts).
   */
  remoteSize(input: string, opts: CallOptions & { beside?: boolean } = {}): Promise<RemoteSizeAnswer> {
    return queryRemoteSize(parseReference(input), {
      env: this.env,
      beside: opts.beside,
      run: (program, args) =>
        this.run(undefined, args, {
          registry: true,
          signal: opts.signal,
          program,
          captureStdout: true,
          maxStdoutBytes: 4 * 1024 * 1024,
          timeoutMs: this.opts.readTimeoutMs ?? 120_000,
        }),
    });
  }

  /**
   * Where podman stages a partial (zstd:chunked) pull: inside the store (c/storage's overlay staging), not in
   * the pull's TMPDIR, so a pull's progress is what grows in both.
   */
  get partialStagingDir(): string {
    return join(this.storePath, 'overlay', 'staging');
  }

  /** A whole pull's time limit (all its attempts together). */
  get pullTimeoutMs(): number {
    return this.opts.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
  }

  /** Copies an image from the host's default containers-storage into this store (host-copy.ts). */
  pullFromHost(input: string, opts: CallOptions = {}): Promise<void> {
    return copyFromHost(
      {
        storePath: this.storePath,
        stateDir: this.stateDir,
        pullTimeoutMs: this.pullTimeoutMs,
        readTimeoutMs: this.opts.readTimeoutMs ?? 120_000,
        log: this.log,
        run: (bindSource, args, runOpts) => this.run(bindSource, args, runOpts),
      },
      input,
      opts,
    );
  }

  /**
   * Removes images named by references or full IDs. A name removes that name (the image goes with its last
   * name); an ID or a digest reference removes the whole image. All targets are checked before anything is
   * removed. Returns the IDs of the images deleted.
   */
  remove(inputs: readonly string[], opts: RemovalOptions = {}): Promise<string[]> {
    return removeImages(this.removal(), inputs, opts);
  }

  /**
   * Removes every image not referenced by a root: kept when any of its names or repo digests equals a root
   * after normalization of both sides; dangling images go too. An empty root set is refused.
   */
  pruneExcept(rootInputs: readonly string[], opts: PruneOptions = {}): Promise<string[]> {
    return pruneImages(this.removal(), rootInputs, opts);
  }

  /** What the removal planner needs of this store: a list, `podman image rm`, and the log. */
  private removal(): RemovalContext {
    return {
      list: (opts) => this.list(opts),
      rm: (args, opts) =>
        this.podman(['image', 'rm', '--', ...args], {
          signal: opts.signal,
          timeoutMs: this.opts.writeTimeoutMs ?? 10 * 60_000,
        }),
      log: this.log,
    };
  }

  /** Cheap fingerprint of the store's image records: changes on every image write by anyone (tag, pull, rm). */
  changeToken(): string {
    return readChangeToken(this.storePath);
  }

  /** Runs podman against this store: `--root /run/bootc/storage --runroot /proc/self/fd/3 ARGS`. */
  private podman(args: readonly string[], opts: RunOpts): Promise<RunInStoreResult> {
    return this.runIn(this.storePath, args, opts);
  }

  private runIn(storeDir: string, args: readonly string[], opts: RunOpts) {
    return this.run(
      storeDir,
      ['--root', STORAGE_ALIAS_DIR, '--runroot', `/proc/self/fd/${RUNROOT_FD}`, ...args],
      {
        ...opts,
        runrootFd: opts.runrootFd ?? this.runrootFd,
      },
    );
  }

  /** Runs podman with a fresh anonymous auth fd; bindSource undefined runs outside any namespace. */
  private async run(
    bindSource: string | undefined,
    args: readonly string[],
    opts: RunOpts,
  ): Promise<RunInStoreResult> {
    if (this.runrootFd === undefined) throw createError('StorageFailure', 'the store is closed');
    // Only calls that reach a registry get (and validate) the sysroot's credentials; a broken auth.json then
    // fails pulls with a named error while list, exists and rm keep working.
    const auth = opts.registry ? readAuthSource(this.authRoot) : NO_AUTH;
    // The program first when it is not podman (skopeo), so a reader of the log sees what ran.
    const logged = opts.program ? [opts.program, ...args] : args;
    this.log.debug({ authFile: auth.path ?? null, args: logged }, 'running podman');
    const authFd = createAnonymousFile(this.stateDir, auth.content);
    try {
      return await runInStore({
        ...opts,
        tools: this.tools,
        args,
        bindSource,
        authFd,
        env: opts.extraEnv === undefined ? this.env : { ...this.env, ...opts.extraEnv },
        killGraceMs: this.opts.killGraceMs ?? opts.killGraceMs,
      });
    } finally {
      closeSync(authFd);
    }
  }
}
