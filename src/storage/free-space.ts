// Will a pull fit? The registry tells us the compressed size of what a pull fetches. podman stages those
// blobs in the pull's TMPDIR (beside the store, on the same file system) and then unpacks each one into a
// layer of the store; the staged blobs are deleted only when the image is complete. So the peak is the
// compressed bytes plus the unpacked bytes, and since unpacked data is at least as large as its compressed
// form, twice the compressed size is a lower bound of that peak: a pull refused by this check could never
// have fitted, while a pull that passes can still run out (gzip'd layers typically unpack to 2–4×) and then
// fails with podman's own "no space left on device" as before.

import { statfsSync } from 'node:fs';
import { createError } from '../errors.js';
import { findMount, readMounts } from './mount-info.js';

/** needed = this × compressed bytes: staged blobs + unpacked layers, at least (see above). */
export const SPACE_FACTOR = 2;

/** What the check found, for the log and the error. */
export interface SpaceVerdict {
  path: string;
  /** Bytes an unprivileged writer may still use there (statfs bavail × bsize). */
  freeBytes: number;
  reserveBytes: number;
  neededBytes: number;
  fits: boolean;
}

/** Usable bytes on the file system holding `path` (bavail: ext4's root-reserved blocks stay untouched). */
export function freeBytesAt(path: string): number {
  const st = statfsSync(path);
  return st.bavail * st.bsize;
}

/** Compares a pull's lower-bound need with what is free at `path` once `reserveBytes` are set aside. */
export function judgeSpace(path: string, compressedBytes: number, reserveBytes: number): SpaceVerdict {
  const freeBytes = freeBytesAt(path);
  const neededBytes = compressedBytes * SPACE_FACTOR;
  return { path, freeBytes, reserveBytes, neededBytes, fits: neededBytes <= freeBytes - reserveBytes };
}

/** Throws NoSpace, naming needed, free and reserved bytes and the file system, when the pull cannot fit. */
export function assertSpaceFor(image: string, v: SpaceVerdict): void {
  if (v.fits) return;
  const mount = findMount(readMounts(), v.path);
  const where = mount ? `${v.path} (${mount.fsType} on ${mount.mountPoint})` : v.path;
  const usable = Math.max(0, v.freeBytes - v.reserveBytes);
  throw createError(
    'NoSpace',
    `not enough space to pull ${image}: it needs at least ${v.neededBytes} bytes (${SPACE_FACTOR}× its ` +
      `${v.neededBytes / SPACE_FACTOR} compressed bytes: staged blobs, then unpacked layers) but ${where} has ` +
      `${v.freeBytes} bytes free, ${usable} after the ${v.reserveBytes}-byte reserve`,
    {
      path: v.path,
      mountPoint: mount?.mountPoint,
      neededBytes: v.neededBytes,
      freeBytes: v.freeBytes,
      reserveBytes: v.reserveBytes,
      image,
    },
  );
}
