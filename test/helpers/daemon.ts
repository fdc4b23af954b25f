// Runs the real daemon (the esbuild bundle) against a private system bus, and a dbus-next client for tests.

import { type ChildProcess, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { REPO } from './system-bus.js';
import { waitFor } from './wait-for.js';

const { Message } = dbus;
export const DAEMON_BUNDLE = join(REPO, '.cache/test-bundle/bootc-storaged.cjs');
/** The bundle itself, which DAEMON_BUNDLE (scripts/daemon-loader.cjs) runs with V8's code cache. */
export const DAEMON_MAIN_BUNDLE = join(REPO, '.cache/test-bundle/bootc-storaged-main.cjs');
/** The CLI bundle (bootc-storagectl), as the tests run it. */
export const CLI_BUNDLE = join(REPO, '.cache/test-bundle/bootc-storagectl.cjs');
/** execa's own file, required by the bundles from beside themselves on their first child (a copy needs it). */
export const EXECA_CHUNK_BUNDLE = join(REPO, '.cache/test-bundle/bootc-storaged-execa.cjs');
/** The V8 flags bootc-storaged.service gives node (its Environment=NODE_OPTIONS=; a unit test keeps them equal). */
export const DAEMON_NODE_OPTIONS = '--max-semi-space-size=1 --expose-gc';

/**
 * The daemon as its installed launcher (scripts/daemon-launcher.sh.in) starts it: node exec'd by
 * `unshare --mount --propagation slave` (same PID), so it runs in a mount namespace of its own.
 */
function launchCommand(
  hostPid: number | undefined,
  args: readonly string[],
  bundle = DAEMON_BUNDLE,
): string[] {
  const enter = hostPid === undefined ? [] : ['nsenter', '-t', String(hostPid), '-m', '--'];
  return [...enter, 'unshare', '--mount', '--propagation', 'slave', '--', process.execPath, bundle, ...args];
}

/** The launcher's marker: the namespace the daemon was started in, where it must never remount anything. */
function launchEnv(hostPid?: number): Record<string, string> {
  return { BOOTC_STORAGED_HOST_MNTNS: readlinkSync(`/proc/${hostPid ?? 'self'}/ns/mnt`) };
}

export interface DaemonProcess {
  proc: ChildProcess;
  /** Everything the daemon printed (pino JSON lines). */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function startDaemon(opts: {
  busAddress: string;
  sysroot: string;
  run: string;
  env: NodeJS.ProcessEnv;
  args?: string[];
  waitForName?: boolean;
  /** Start it from this process's mount namespace (a test's stand-in for a host, host-namespace.ts). */
  hostPid?: number;
  /** Another bundle file to run (default DAEMON_BUNDLE, the loader the package installs). */
  bundle?: string;
}): Promise<DaemonProcess> {
  const [file = 'unshare', ...argv] = launchCommand(
    opts.hostPid,
    ['--sysroot', opts.sysroot, '--run', opts.run, ...(opts.args ?? [])],
    opts.bundle,
  );
  const proc = spawn(file, argv, {
    env: {
      NODE_OPTIONS: DAEMON_NODE_OPTIONS,
      ...opts.env,
      ...launchEnv(opts.hostPid),
      DBUS_SYSTEM_BUS_ADDRESS: opts.busAddress,
      BOOTC_STORAGED_LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((r) => proc.once('exit', (code, sig) => r(code ?? sig ?? -1)));
  const daemon: DaemonProcess = {
    proc,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  if (opts.waitForName !== false) {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${out}`);
        return out.includes('"msg":"serving"');
      },
      'the daemon to own org.bootc.Storage',
      60_000,
      50,
    );
  }
  return daemon;
}

export interface DBusErrorLike {
  type: string;
  text: string;
}

/** A dbus-next client connection to the private bus. */
export function connectClient(address: string): dbus.MessageBus {
  return dbus.sessionBus({ busAddress: address });
}

/** Calls a method on org.bootc.Storage; rejects with the D-Bus error (`type` is its name). */
export async function callStorage(
  bus: dbus.MessageBus,
  member: string,
  signature = '',
  body: unknown[] = [],
  opts: { path?: string; iface?: string; interactive?: boolean; destination?: string } = {},
): Promise<unknown[]> {
  const reply = await bus.call(
    new Message({
      destination: opts.destination ?? 'org.bootc.Storage',
      path: opts.path ?? '/org/bootc/Storage',
      interface: opts.iface ?? 'org.bootc.Storage',
      member,
      signature,
      body,
      flags: opts.interactive ? 0x4 : 0,
    }),
  );
  return reply?.body ?? [];
}

/** The store's image IDs as List answers on `bus`, sorted. */
export async function listIds(bus: dbus.MessageBus): Promise<string[]> {
  const [rows] = (await callStorage(bus, 'List')) as [[string, string[]][]];
  return rows.map(([id]) => id).sort();
}

/** Every name of every image as List answers on `bus`, sorted. */
export async function listNames(bus: dbus.MessageBus): Promise<string[]> {
  const [rows] = (await callStorage(bus, 'List')) as [[string, string[]][]];
  return rows.flatMap(([, names]) => names).sort();
}

/** The D-Bus error name a promise rejected with. */
export async function errorName(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'no error',
    (e: DBusErrorLike) => e.type ?? String(e),
  );
}

/** Subscribes the client to signals matching `rule` (e.g. everything org.bootc.Storage emits). */
export async function addMatch(bus: dbus.MessageBus, rule: string): Promise<void> {
  await bus.call(
    new Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [rule],
    }),
  );
}
