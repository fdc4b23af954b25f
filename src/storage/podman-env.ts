// podman's environment and helper programs: which binaries run (resolved once, a missing one named before
// anything on disk changes) and which variables podman may see (none that pick other credentials, another
// store, a remote service, or the daemon's own systemd channels).

import { createError } from '../errors.js';
import { findExecutable } from '../process/find-executable.js';
import type { Toolchain } from './run-in-store.js';

/** Environment variables that would let podman read credentials other than the ones we hand it. */
const CREDENTIAL_ENV = ['REGISTRY_AUTH_FILE', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'HOME'];
/** Environment variables that would change which store podman opens or how. */
const STORE_ENV = ['STORAGE_OPTS', 'STORAGE_DRIVER'];
/** Environment variables that would make podman a client of some other podman service instead of our store. */
const REMOTE_ENV = ['CONTAINER_HOST', 'CONTAINER_CONNECTION', 'CONTAINER_SSHKEY', 'CONTAINER_PASSPHRASE'];
/**
 * The daemon's own systemd channels: podman would notify readiness or feed the watchdog in our name
 * (NotifyAccess=main refuses it, but nothing of ours is its business), or take our socket-activation fds.
 */
const DAEMON_ENV = [
  'NOTIFY_SOCKET',
  'WATCHDOG_USEC',
  'WATCHDOG_PID',
  'LISTEN_FDS',
  'LISTEN_PID',
  'LISTEN_FDNAMES',
  'BOOTC_STORAGED_HOST_MNTNS',
];

/** Resolves the helper programs; a missing one is named before anything on disk changes. */
export function resolveToolchain(podman = 'podman', pathEnv = process.env.PATH): Toolchain {
  const found: Partial<Toolchain> = {};
  for (const [key, name] of [
    ['podman', podman],
    ['unshare', 'unshare'],
    ['setpriv', 'setpriv'],
    ['sh', '/bin/sh'],
  ] as const) {
    const path = findExecutable(name, pathEnv);
    if (!path) {
      throw createError('ToolMissing', `required program "${name}" was not found on PATH`, {
        program: name,
      });
    }
    found[key] = path;
  }
  return found as Toolchain;
}

/** podman's environment: the daemon's own, minus anything that could pick other credentials or another store. */
export function buildPodmanEnv(base: NodeJS.ProcessEnv, emptyHome: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of [...CREDENTIAL_ENV, ...STORE_ENV, ...REMOTE_ENV, ...DAEMON_ENV]) delete env[key];
  // podman 4.3 reads ~/.docker/config.json and ~/.config/containers/auth.json even with REGISTRY_AUTH_FILE
  // set (measured): point every such lookup at an empty directory only we can write.
  env.HOME = emptyHome;
  env.DOCKER_CONFIG = emptyHome;
  env.XDG_CONFIG_HOME = emptyHome;
  env.REGISTRY_AUTH_FILE = '/proc/self/fd/4';
  return env;
}
