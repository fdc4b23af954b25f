// The world the soak runs in, built from the test helpers: a private system bus with polkitd, a registry on
// 127.0.0.1 behind two throttling proxies (one the fault injector stalls, one slow enough to cancel pulls on),
// a sandbox sysroot on a small tmpfs (so the disk can be filled) made a real ostree sysroot with one
// deployment that binds an image and names a host image, a stand-in host mount namespace the daemon is
// started from, and the daemon itself with its Varlink socket.

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ImageEntry } from '../../src/storage/parse-image-list.js';
import { STORE_SUBPATH, Store } from '../../src/storage/store.js';
import { type DaemonProcess, startDaemon } from '../helpers/daemon.js';
import { type HostNamespace, startHostNamespace } from '../helpers/host-namespace.js';
import { createImageBuilder } from '../helpers/images.js';
import { createSysroot, deploy, imageQuadlet } from '../helpers/ostree-sysroot.js';
import { type Registry, startRegistry } from '../helpers/registry.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';
import { type SlowProxy, startSlowProxy } from '../helpers/slow-proxy.js';
import { type SystemBus, startSystemBus } from '../helpers/system-bus.js';
import { makeTempDir } from '../helpers/tmp.js';
import type { SoakConfig } from './config.js';

const run = promisify(execFile);
export const FAST = 1024 * 1024 * 1024;
/** The cancel targets' proxy: a 3 MiB image takes ~3 s, long enough to be caught running. */
const SLOW_RATE = 1024 * 1024;

/** The images the soak pulls, by role; every reference is fully qualified. */
export interface SoakImages {
  /** Roots a root client holds: bound by the deployment (quadlet) and its host image (origin). */
  keep: string[];
  /** Pulled, removed, pruned and collected freely: each repo under two names (registry and proxy host). */
  churn: string[];
  /** Churn image IDs (Remove by ID). */
  churnIds: string[];
  /** Pulled only by cancel ops, through the slow proxy. */
  slow: string[];
}

export interface Fixture {
  dir: string;
  bus: SystemBus;
  registry: Registry;
  /** The proxy most pulls go through; the injector stalls it. */
  proxy: SlowProxy;
  slowProxy: SlowProxy;
  sandbox: Sandbox;
  sysroot: string;
  storePath: string;
  host: HostNamespace;
  varlinkSocket: string;
  images: SoakImages;
  daemon: DaemonProcess;
  /** How many daemons were started (1 + restarts). */
  starts: number;
  /** Kills the daemon with SIGKILL and waits for it to be gone. */
  killDaemon(): Promise<void>;
  /** Called when a daemon exits without being killed or stopped (with its exit and its log's tail). */
  onCrash(cb: (exit: number | string, tail: string) => void): void;
  /** Starts the daemon again as the test helpers do; resolves once it owns its name. */
  startAgain(): Promise<void>;
  /** `podman image list` on the store, run exactly as the daemon runs podman (same --root, namespace, runroot). */
  podmanList(): Promise<ImageEntry[]>;
  stop(): Promise<void>;
}

function daemonArgs(cfg: SoakConfig, socket: string): string[] {
  return [
    '--varlink-socket',
    socket,
    '--stall-timeout',
    String(cfg.daemon.stallTimeoutS),
    '--lock-timeout',
    String(cfg.daemon.lockTimeoutS),
    '--pull-retries',
    String(cfg.daemon.pullRetries),
    // The store's file system is a small tmpfs: the default 1 GiB reserve would refuse every pull.
    '--space-reserve',
    '0',
  ];
}

export async function startFixture(cfg: SoakConfig, log: (line: string) => void): Promise<Fixture> {
  const tmp = makeTempDir('bsd-soak-');
  chmodSync(tmp.path, 0o755); // nobody reaches the bus and the Varlink socket below it
  const cleanups: (() => Promise<void> | void)[] = [() => tmp.remove()];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    mkdirSync(cfg.outDir, { recursive: true });
    const bus = await startSystemBus(join(tmp.path, 'bus'));
    cleanups.push(() => bus.stop());
    const registry = await startRegistry({ dir: join(tmp.path, 'registry') });
    cleanups.push(() => registry.stop());
    const target = { host: '127.0.0.1', port: registry.port };
    const proxy = await startSlowProxy(target, FAST);
    cleanups.push(() => proxy.close());
    const slowProxy = await startSlowProxy(target, SLOW_RATE);
    cleanups.push(() => slowProxy.close());
    const sandbox = makeSandbox([registry.host, proxy.host, slowProxy.host]);
    cleanups.push(() => sandbox.remove());
    const sysroot = sandbox.sysroot;
    // Mounted before the stand-in host namespace is made, so the daemon there sees this very file system.
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${cfg.storeFsMiB}m,mode=0755`, 'tmpfs', sysroot]);
    cleanups.push(() => void execFileSync('umount', ['-l', sysroot]));

    const builder = createImageBuilder(tmp.path);
    // podman's overlay driver bind-mounts its home over itself: let go of it before the directory goes.
    cleanups.push(
      async () => void (await run('umount', ['-l', join(builder.root, 'overlay')]).catch(() => 0)),
    );
    const t0 = Date.now();
    const at = (host: string, name: string) => `${host}/soak/${name}:v1`;
    const build = (name: string, bytes: number) => builder.buildAndPush(at(registry.host, name), { bytes });
    const keep = [at(proxy.host, 'keep-bound'), at(proxy.host, 'keep-host')];
    await build('keep-bound', 64 * 1024);
    await build('keep-host', 48 * 1024);
    const churn: string[] = [];
    const churnIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      churnIds.push(await build(`churn-${i}`, 16 * 1024 * 4 ** (i % 3)));
      churn.push(at(proxy.host, `churn-${i}`), at(registry.host, `churn-${i}`));
    }
    const slow: string[] = [];
    for (let i = 0; i < 3; i++) {
      await build(`slow-${i}`, 3 * 1024 * 1024);
      slow.push(at(slowProxy.host, `slow-${i}`));
    }
    log(`soak: built and pushed ${2 + churnIds.length + slow.length} images in ${Date.now() - t0} ms`);

    // A real ostree sysroot: one deployment binding keep[0] through a quadlet, keep[1] as its host image.
    createSysroot(sysroot);
    deploy(sysroot, {
      quadlets: { 'soak-keep.image': imageQuadlet(keep[0]!) },
      origin: `ostree-unverified-registry:${keep[1]}`,
      mutable: true,
    });

    const host = await startHostNamespace();
    cleanups.push(() => host.stop());
    const vdir = join(tmp.path, 'varlink');
    mkdirSync(vdir, { mode: 0o755 });
    chmodSync(vdir, 0o755);
    const varlinkSocket = join(vdir, 'org.bootc.Storage');
    let logNo = 0;
    let expectExit = false;
    let current: DaemonProcess | undefined;
    let crashed: ((exit: number | string, tail: string) => void) | undefined;
    const launch = async () => {
      expectExit = false;
      const d = await startDaemon({
        busAddress: bus.address,
        sysroot,
        run: sandbox.run,
        env: sandbox.env,
        args: daemonArgs(cfg, varlinkSocket),
        hostPid: host.pid,
      });
      current = d;
      void d.exited.then((exit) => {
        if (!expectExit && current === d) crashed?.(exit, d.output().slice(-3000));
      });
      return d;
    };
    /** Keeps each daemon's log (pino lines) in the output directory, then lets go of it. */
    const saveLog = (d: DaemonProcess) =>
      writeFileSync(join(cfg.outDir, `daemon-${++logNo}.log`), d.output());
    const fx: Fixture = {
      dir: tmp.path,
      bus,
      registry,
      proxy,
      slowProxy,
      sandbox,
      sysroot,
      storePath: join(sysroot, STORE_SUBPATH),
      host,
      varlinkSocket,
      images: { keep, churn, churnIds, slow },
      daemon: await launch(),
      starts: 1,
      killDaemon: async () => {
        expectExit = true;
        await fx.daemon.stop('SIGKILL');
        saveLog(fx.daemon);
      },
      onCrash: (cb) => {
        crashed = cb;
      },
      startAgain: async () => {
        fx.daemon = await launch();
        fx.starts += 1;
      },
      podmanList: async () => {
        const store = Store.open({ sysroot, run: sandbox.run, env: sandbox.env, imageRecords: false });
        try {
          return await store.listWithPodman();
        } finally {
          store.close();
        }
      },
      stop: async () => {
        expectExit = true;
        await fx.daemon.stop('SIGTERM');
        saveLog(fx.daemon);
        await cleanup();
      },
    };
    return fx;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
