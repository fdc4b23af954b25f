// Where the Varlink server listens: the socket systemd passed (socket activation, LISTEN_FDS/LISTEN_PID), or a
// path the daemon binds itself, mode 0666 (every call is authorized by polkit, as on D-Bus).

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';

/** The first passed fd (sd_listen_fds(3)). */
const SD_LISTEN_FDS_START = 3;
/** The FileDescriptorName= of our socket in bootc-storaged.socket, looked for when several fds are passed. */
export const VARLINK_FD_NAME = 'varlink';

export type VarlinkListenResult = { activated: true; fd: number } | { activated: false; path: string };

/**
 * The listening fd systemd passed to this process, if any. Like sd_listen_fds(unset_environment=1), it removes
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the environment so no child (podman) sees them.
 */
export function takeActivationFd(
  env: NodeJS.ProcessEnv = process.env,
  pid = process.pid,
): number | undefined {
  const listenPid = Number(env.LISTEN_PID);
  const count = Number(env.LISTEN_FDS);
  const names = env.LISTEN_FDNAMES?.split(':');
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (listenPid !== pid || !Number.isInteger(count) || count < 1) return undefined;
  if (count === 1) return SD_LISTEN_FDS_START;
  const i = names?.indexOf(VARLINK_FD_NAME) ?? -1;
  return i >= 0 && i < count ? SD_LISTEN_FDS_START + i : undefined;
}

/** Starts `server` on the activation fd when there is one, else binds `path` with mode 0666. */
export async function listenVarlink(
  server: Server,
  path: string,
  fd: number | undefined = takeActivationFd(),
): Promise<VarlinkListenResult> {
  if (fd !== undefined) {
    await listening(server, () => server.listen({ fd }));
    return { activated: true, fd };
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  removeStaleSocket(path);
  // The socket is created with the process umask: give it its mode from the first moment, not after a chmod.
  await listening(server, () => {
    const old = process.umask(0o111);
    try {
      server.listen(path);
    } finally {
      process.umask(old);
    }
  });
  chmodSync(path, 0o666);
  return { activated: false, path };
}

/**
 * A socket file left by a daemon that died: remove it. The caller already owns org.bootc.Storage on the bus, so
 * no live daemon can be listening there. Anything that is not a socket is left alone (listen then fails).
 */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function listening(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve();
    });
    start();
  });
}
