// Runs test/helpers/signal-forger.ts as a separate process (as another user, by default nobody), and finds the
// unique bus name of a process by its pid, so a test can address a forged signal to a client of ours.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { build } from 'esbuild';
import type { ForgedSignal } from './signal-forger.js';
import { REPO } from './system-bus.js';
import { waitFor } from './wait-for.js';

const NOBODY = 65534;

export interface SignalForger {
  /** Its unique name on the bus. */
  name: string;
  proc: ChildProcess;
  /** Sends one signal; resolves once the bus has routed it. */
  send(signal: ForgedSignal): Promise<void>;
  stop(): void;
}

/**
 * Bundles the forger into `dir` (which every user can traverse), so an unprivileged user can run it without
 * reading the checkout; returns the file.
 */
export async function buildSignalForger(dir: string): Promise<string> {
  const outfile = join(dir, 'signal-forger.cjs');
  await build({
    entryPoints: [join(REPO, 'test/helpers/signal-forger.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['x11', 'usocket'],
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

export async function startSignalForger(
  bundle: string,
  busAddress: string,
  opts: { uid?: number } = {},
): Promise<SignalForger> {
  const uid = opts.uid ?? NOBODY;
  const proc = spawn(process.execPath, [bundle], {
    env: { PATH: process.env.PATH, DBUS_SYSTEM_BUS_ADDRESS: busAddress, SIGNAL_FORGER_MAIN: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
    uid,
    gid: uid,
    cwd: '/',
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const name = await waitFor<string>(() => {
    if (proc.exitCode !== null) throw new Error(`signal forger exited ${proc.exitCode}: ${err}`);
    return /^name (\S+)$/m.exec(out)?.[1] ?? '';
  }, 'the signal forger to connect');
  let acks = 0;
  return {
    name,
    proc,
    send: async (signal) => {
      acks += 1;
      const want = acks;
      proc.stdin?.write(`${JSON.stringify(signal)}\n`);
      await waitFor(() => {
        if (proc.exitCode !== null) throw new Error(`signal forger exited ${proc.exitCode}: ${err}`);
        return (out.match(/^sent$/gm)?.length ?? 0) >= want;
      }, 'the forged signal to be sent');
    },
    stop: () => {
      proc.stdin?.end();
      if (proc.exitCode === null) proc.kill();
    },
  };
}

async function busCall(bus: dbus.MessageBus, member: string, signature = '', body: unknown[] = []) {
  const reply = await bus.call(
    new dbus.Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member,
      signature,
      body,
    }),
  );
  return reply?.body ?? [];
}

/** The unique name of the bus connection that process `pid` opened (waits until it has connected). */
export async function uniqueNameOfPid(bus: dbus.MessageBus, pid: number): Promise<string> {
  return waitFor<string>(async () => {
    const [names] = (await busCall(bus, 'ListNames')) as [string[]];
    for (const name of names.filter((n) => n.startsWith(':'))) {
      const [owner] = await busCall(bus, 'GetConnectionUnixProcessID', 's', [name]).catch(() => [-1]);
      if (owner === pid) return name;
    }
    return '';
  }, `the bus connection of pid ${pid}`);
}
