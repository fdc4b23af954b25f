// Pulls with `skopeo copy docker://REF containers-storage:[overlay@/run/bootc/storage+/proc/self/fd/3]REF`
// instead of `podman image pull`, when that is the same pull.
//
// Why: a podman CLI call pays ~25–30 ms of start-up (libpod runtime, its database, events, network config)
// before it fetches a byte; skopeo opens only containers-storage. Measured here on a ~1 MB image, invoked the
// daemon's way: ~80 ms against ~108 ms for `podman image pull`, with byte-identical image records
// (`overlay-images/images.json`, big data, names) and `podman image list` output. Both are the same
// containers/image copy into the same containers/storage, with the same registries.conf, policy.json and
// credentials (the anonymous fd), under the same supervision (process group, SIGTERM → SIGKILL, pdeathsig),
// so cancel, time limits and the stall watchdog are unchanged. This was chosen over a long-running
// `podman system service` (which would save the same start-up): no service to start, stop and keep alive,
// no credentials in HTTP headers, none of podman 4.3's long-running lock and leak problems, and a pull that
// stops when its process stops.
//
// It is the same pull only when nothing in storage.conf would differ: a `containers-storage:[driver@root+run]`
// reference opens the store with exactly those settings, not storage.conf's options (pull options, additional
// image stores, a mount program). So skopeo is used only when storage.conf sets nothing a pull depends on,
// and when it comes from the same directory as podman (one containers install; a test's fake podman on PATH
// keeps podman). Otherwise podman pulls, as before.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createError, type StorageError } from '../errors.js';
import { findExecutable } from '../process/find-executable.js';
import type { ImageReference } from './reference.js';
import { AUTH_FD, RUNROOT_FD, STORAGE_ALIAS_DIR } from './run-in-store.js';

/** The storage.conf files podman reads (the first that exists), as containers/storage looks them up. */
const STORAGE_CONF_PATHS = ['/etc/containers/storage.conf', '/usr/share/containers/storage.conf'];

/**
 * Settings a pull does not depend on: where the store is (we pass it), the driver when it is overlay (ours),
 * and the options used only when a layer is mounted for a container.
 */
const HARMLESS = /^(?:runroot|graphroot|rootless_storage_path|mountopt|size|skip_mount_home)\s*=/;

/** Whether a storage.conf text sets nothing that would make skopeo's pull differ from podman's. */
export function isPlainStorageConf(text: string): boolean {
  const body = text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '')
    .join('\n')
    // an empty list of additional image stores, possibly over several lines
    .replace(/additionalimagestores\s*=\s*\[\s*\]/g, '');
  for (const line of body.split('\n').map((l) => l.trim())) {
    if (line === '' || /^\[storage(?:\.options(?:\.overlay|\.thinpool|\.vfs)?)?\]$/.test(line)) continue;
    if (/^driver\s*=\s*"overlay"$/.test(line) || HARMLESS.test(line)) continue;
    // pull_options whose every value is "false" or "" are the defaults
    const pull = /^pull_options\s*=\s*\{(.*)\}$/.exec(line);
    if (pull && (pull[1] ?? '').split(',').every((kv) => /^\s*\w+\s*=\s*"(?:false)?"\s*$/.test(kv))) continue;
    return false;
  }
  return true;
}

/** The skopeo that pulls the way podman would on this host, or undefined (then podman pulls). */
export function findEquivalentCopier(
  podman: string,
  env: NodeJS.ProcessEnv,
  readConf: (path: string) => string | undefined = readIfExists,
): string | undefined {
  const skopeo = findExecutable('skopeo', dirname(podman));
  if (!skopeo || env.STORAGE_OPTS || env.STORAGE_DRIVER) return undefined;
  const paths = env.CONTAINERS_STORAGE_CONF ? [env.CONTAINERS_STORAGE_CONF] : STORAGE_CONF_PATHS;
  for (const path of paths) {
    const text = readConf(path);
    if (text !== undefined) return isPlainStorageConf(text) ? skopeo : undefined;
  }
  return skopeo;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * skopeo's arguments for a pull of `ref` into the store at the alias (run inside the namespace): credentials
 * from the anonymous fd, registries.conf as a flag (skopeo 1.9 ignores CONTAINERS_REGISTRIES_CONF), and the
 * 3 retries podman's libimage makes on its own.
 */
export function copyArgs(ref: ImageReference, env: NodeJS.ProcessEnv, tmpDir?: string): string[] {
  const conf = env.CONTAINERS_REGISTRIES_CONF;
  return [
    ...(conf ? ['--registries-conf', conf] : []),
    // Blobs are staged here (as podman stages in its TMPDIR), so the staged bytes show the pull's progress.
    ...(tmpDir ? ['--tmpdir', tmpDir] : []),
    'copy',
    '--authfile',
    `/proc/self/fd/${AUTH_FD}`,
    '--retry-times',
    '3',
    '--',
    `docker://${ref.canonical}`,
    `containers-storage:[overlay@${STORAGE_ALIAS_DIR}+/proc/self/fd/${RUNROOT_FD}]${ref.canonical}`,
  ];
}

/** The image ID of a schema 2 / OCI image is its config digest: skopeo names it as `Copying config sha256:…`. */
export function configIdOf(line: string): string | undefined {
  return /^Copying config sha256:([a-f0-9]{64})\b/.exec(line.trim())?.[1];
}

/** The ID of the image `name` names in the store's records (a schema 1 image, which has no config). */
export function storedIdOf(storePath: string, name: string): string | undefined {
  try {
    const records = JSON.parse(readFileSync(join(storePath, 'overlay-images', 'images.json'), 'utf8')) as {
      id?: string;
      names?: string[];
    }[];
    return records.find((r) => r.names?.includes(name))?.id;
  } catch {
    return undefined;
  }
}

/** skopeo's fatal line (`time=… level=fatal msg="…"`) as podman would word it: just the message. */
export function copierMessage(stderrTail: string): string {
  const lines = stderrTail.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1) ?? '';
  const m = /level=fatal msg="((?:[^"\\]|\\.)*)"/.exec(last);
  return m ? (m[1] ?? '').replace(/\\(.)/g, '$1') : stderrTail;
}

/** A pull that ran out of its time limit, by either program: PullFailed, saying so. */
export function asPullFailed(err: StorageError, ref: ImageReference): StorageError {
  return createError(
    'PullFailed',
    `pulling ${ref.canonical} timed out`,
    { ...err.details, image: ref.canonical, reason: 'time-limit' },
    err,
  );
}
