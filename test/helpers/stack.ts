// One full stack per test file: private system bus + polkitd, registry, sandbox sysroot, the daemon.

import { join } from 'node:path';
import type dbus from 'dbus-next';
import { connectClient, type DaemonProcess, startDaemon } from './daemon.js';
import { type FlakyProxy, startFlakyProxy } from './flaky-proxy.js';
import { createImageBuilder, type ImageBuilder } from './images.js';
import { type Registry, startRegistry } from './registry.js';
import { makeSandbox, type Sandbox } from './sandbox.js';
import { type SlowProxy, startSlowProxy } from './slow-proxy.js';
import { type SystemBus, startSystemBus } from './system-bus.js';
import { makeTempDir } from './tmp.js';

export interface Stack {
  dir: string;
  bus: SystemBus;
  registry: Registry;
  proxy: SlowProxy;
  /** The same registry behind a proxy that fails requests on demand (503, 429, cut connections). */
  flaky: FlakyProxy;
  sandbox: Sandbox;
  builder: ImageBuilder;
  daemon: DaemonProcess;
  client: dbus.MessageBus;
  /** Stops the daemon and starts it again, with other arguments and environment variables if given. */
  restartDaemon(args?: string[], extraEnv?: NodeJS.ProcessEnv): Promise<DaemonProcess>;
  stop(): Promise<void>;
}

export interface StackOptions {
  daemonArgs?: string[];
  proxyRate?: number;
  /** Merged over the sandbox environment of the daemon (e.g. a PATH with a recording podman). */
  daemonEnv?: NodeJS.ProcessEnv;
  /** Runs after the sandbox exists and before the daemon starts (e.g. put the sysroot on a small tmpfs). */
  beforeDaemon?: (sandbox: Sandbox) => void | Promise<void>;
  /** Start the daemon from the mount namespace of this pid (a stand-in host, host-namespace.ts). */
  hostPid?: () => number | undefined;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const tmp = makeTempDir('bsd-stack-');
  const bus = await startSystemBus(join(tmp.path, 'bus'));
  const registry = await startRegistry({ dir: join(tmp.path, 'registry') });
  const [host, port] = registry.host.split(':');
  const proxy = await startSlowProxy(
    { host: host!, port: Number(port) },
    opts.proxyRate ?? 1024 * 1024 * 1024,
  );
  const flaky = await startFlakyProxy({ host: host!, port: Number(port) });
  const sandbox = makeSandbox([registry.host, proxy.host, flaky.host]);
  const builder = createImageBuilder(tmp.path);
  await opts.beforeDaemon?.(sandbox);
  const env = { ...sandbox.env, ...opts.daemonEnv };
  const launch = (args = opts.daemonArgs ?? [], extraEnv: NodeJS.ProcessEnv = {}) =>
    startDaemon({
      busAddress: bus.address,
      sysroot: sandbox.sysroot,
      run: sandbox.run,
      env: { ...env, ...extraEnv },
      args,
      hostPid: opts.hostPid?.(),
    });
  const stack: Stack = {
    dir: tmp.path,
    bus,
    registry,
    proxy,
    flaky,
    sandbox,
    builder,
    daemon: await launch(),
    client: connectClient(bus.address),
    restartDaemon: async (args, extraEnv) => {
      await stack.daemon.stop();
      stack.daemon = await launch(args, extraEnv);
      return stack.daemon;
    },
    stop: async () => {
      stack.client.disconnect();
      await stack.daemon.stop();
      await proxy.close();
      await flaky.close();
      await registry.stop();
      await bus.stop();
      sandbox.remove();
      tmp.remove();
    },
  };
  return stack;
}
