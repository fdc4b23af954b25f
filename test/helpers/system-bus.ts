// A private system-type bus (dbus-daemon) per test file, with the default-deny policy of the real system bus,
// polkit's bus policy, and the project's own dbus/org.bootc.Storage.conf; plus a real polkitd on it.

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { waitFor } from './wait-for.js';

export const REPO = resolve(__dirname, '../..');
const POLICY_SRC = join(REPO, 'polkit/org.bootc.storage.policy');
const POLICY_DST = '/usr/share/polkit-1/actions/org.bootc.storage.policy';

export interface SystemBus {
  address: string;
  socket: string;
  stop(): Promise<void>;
}

/** Installs the project's polkit actions where polkitd reads them (idempotent; root). */
export function installPolkitPolicy(): void {
  if (!existsSync(POLICY_DST) || readFileSync(POLICY_DST, 'utf8') !== readFileSync(POLICY_SRC, 'utf8')) {
    copyFileSync(POLICY_SRC, POLICY_DST);
  }
}

/** The shared private-bus template (also used by `make run`), with the socket and repo filled in. */
function busConfig(socket: string): string {
  return readFileSync(join(REPO, 'scripts/private-bus.conf.in'), 'utf8')
    .replaceAll('@SOCKET@', socket)
    .replaceAll('@REPO@', REPO);
}

/** Starts dbus-daemon and polkitd; the socket is reachable by unprivileged users (deny tests run as nobody). */
export async function startSystemBus(dir: string): Promise<SystemBus> {
  mkdirSync(dir, { recursive: true });
  // polkitd drops to its own user and deny-tests connect as nobody: both must reach the socket.
  chmodSync(join(dir, '..'), 0o755);
  chmodSync(dir, 0o755);
  const socket = join(dir, 'system_bus_socket');
  const config = join(dir, 'bus.conf');
  writeFileSync(config, busConfig(socket));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of [...children].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      await new Promise((r) => {
        c.once('close', r);
        c.kill('SIGTERM');
      });
    }
  };
  const address = `unix:path=${socket}`;
  try {
    const daemon = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--nopidfile'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(daemon);
    await waitFor(() => existsSync(socket), 'dbus-daemon socket', 10_000, 20);
    chmodSync(socket, 0o777);
    installPolkitPolicy();
    const polkitd = spawn('/usr/lib/polkit-1/polkitd', ['--no-debug'], {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    children.push(polkitd);
    await waitFor(
      async () => {
        const out = await capture('busctl', ['--address', address, 'list', '--no-pager', '--no-legend']);
        return out.includes('org.freedesktop.PolicyKit1');
      },
      'polkitd on the private bus',
      15_000,
      100,
    );
  } catch (err) {
    await stop(); // a failed start must not leave a bus or polkitd running
    throw err;
  }
  return { address, socket, stop };
}

/** Runs a command and returns stdout (also on failure). */
function capture(
  cmd: string,
  args: string[],
  opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
) {
  return new Promise<string>((res) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], ...opts });
    let out = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.on('error', () => res(out));
    c.on('close', () => res(out));
  });
}
