// What the kernel says about this process's mounts (/proc/self/mountinfo): which mount holds a path, and
// whether it is read-only per mount (a bind-remount can lift that in our own namespace) or read-only in its
// file system itself (nothing we may do can).

import { readFileSync, readlinkSync } from 'node:fs';

export interface MountEntry {
  mountId: number;
  mountPoint: string;
  /** Per-mount options (`ro`/`rw`, `nosuid`, …): what a bind remount changes. */
  mountOptions: string[];
  fsType: string;
  source: string;
  /** Options of the file system itself (the superblock): `ro` here is read-only for every mount of it. */
  superOptions: string[];
}

/** Undoes mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`). */
function unescapeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Parses mountinfo text (proc(5)); malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep === -1 || fields.length < sep + 4) continue;
    entries.push({
      mountId: Number(fields[0]),
      mountPoint: unescapeField(fields[4] ?? ''),
      mountOptions: (fields[5] ?? '').split(','),
      fsType: fields[sep + 1] ?? '',
      source: unescapeField(fields[sep + 2] ?? ''),
      superOptions: (fields[sep + 3] ?? '').split(','),
    });
  }
  return entries;
}

/** This process's mounts, as the kernel lists them now. */
export function readMounts(): MountEntry[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The mount a resolved absolute path lives on: the last-mounted entry with the longest matching mount point. */
export function findMount(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const e of entries) {
    const inside = e.mountPoint === '/' || path === e.mountPoint || path.startsWith(`${e.mountPoint}/`);
    // A later entry on the same mount point is mounted over the earlier one (mountinfo lists in mount order).
    if (inside && (best === undefined || e.mountPoint.length >= best.mountPoint.length)) best = e;
  }
  return best;
}

/** The mount namespace this process is in (`mnt:[4026531841]`). */
export function currentMountNamespace(): string {
  return readlinkSync('/proc/self/ns/mnt');
}
