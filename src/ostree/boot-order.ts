// The boot loader's order of deployments, read as libostree reads it (ostree-sysroot.c,
// sysroot_load_from_bootloader_configs): the `ostree-*.conf` entries of boot/loader/entries, highest `version`
// first, each entry's `ostree=` argument followed inside the sysroot to its deployment directory.

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { noteRead } from '../storage/read-record.js';
import { readSmallText } from '../storage/read-small-file.js';
import { resolveInRoot } from '../storage/resolve-inside.js';

/** Boot entries are a few lines; anything larger is not one. */
const MAX_ENTRY_BYTES = 64 * 1024;
const DEPLOYMENT_PATH_RE = /^ostree\/deploy\/[^/]+\/deploy\/[0-9a-f]{64}\.[0-9]+$/;

interface BootEntry {
  name: string;
  version: string | undefined;
  ostree: string | undefined;
}

/**
 * Deployment directories in boot order (index 0 is what the boot loader starts by default). An entry that
 * cannot be read, has no `ostree=` argument or does not lead to a deployment directory is skipped, where
 * libostree would refuse to load the sysroot: a listing must still show the rest.
 */
export function readBootOrder(sysroot: string): string[] {
  const entries = readBootEntries(sysroot);
  // libostree sorts with compare_boot_loader_configs: strverscmp of `version`, reversed; no version last.
  entries.sort((a, b) => {
    if (a.version !== undefined && b.version !== undefined) return compareVersions(b.version, a.version);
    return a.version !== undefined ? -1 : b.version !== undefined ? 1 : 0;
  });
  const seen = new Set<string>();
  const order: string[] = [];
  for (const entry of entries) {
    const dir = entry.ostree === undefined ? undefined : resolveDeployment(sysroot, entry.ostree);
    if (dir === undefined || seen.has(dir)) continue;
    seen.add(dir);
    order.push(dir);
  }
  return order;
}

/** The `ostree-*.conf` files of `<sysroot>/boot/loader/entries` (boot/loader is the loader.N link), by name. */
function readBootEntries(sysroot: string): BootEntry[] {
  const dir = resolveInRoot(sysroot, 'boot/loader/entries', { escape: 'refuse' });
  if (!dir.ok) return [];
  let names: string[];
  noteRead(dir.path);
  try {
    names = readdirSync(dir.path);
  } catch {
    return [];
  }
  const found: BootEntry[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith('ostree-') || !name.endsWith('.conf')) continue;
    const text = readSmallText(join(dir.path, name), MAX_ENTRY_BYTES); // never a link out, FIFO or giant
    if (text !== undefined) found.push(parseBootEntry(name, text));
  }
  return found;
}

/** A BLS entry: `key value` lines; a later line of a key replaces an earlier one (ostree's bootconfig parser). */
function parseBootEntry(name: string, text: string): BootEntry {
  const keys = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([^\s#][^\s]*)\s+(.*?)\s*$/.exec(line);
    if (m) keys.set(m[1]!, m[2]!);
  }
  const ostree = keys
    .get('options')
    ?.split(' ')
    .find((a) => a.startsWith('ostree='))
    ?.slice('ostree='.length);
  return { name, version: keys.get('version'), ostree };
}

/** `/ostree/boot.N/<stateroot>/<bootcsum>/<serial>` followed inside the sysroot to a deployment directory. */
function resolveDeployment(sysroot: string, bootlink: string): string | undefined {
  const r = resolveInRoot(sysroot, bootlink, { escape: 'refuse' });
  if (!r.ok) return undefined;
  const rel = relative(sysroot, r.path);
  if (!DEPLOYMENT_PATH_RE.test(rel)) return undefined;
  try {
    noteRead(r.path);
    return statSync(r.path).isDirectory() ? join(sysroot, rel) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * strverscmp(3) for what boot entries hold: runs of digits compare as numbers, everything else byte by byte.
 * (glibc's special case of leading zeros as fractions is left out: ostree writes plain integers.)
 */
export function compareVersions(a: string, b: string): number {
  const runs = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const ra = runs(a);
  const rb = runs(b);
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const [nx, ny] = [x.replace(/^0+(?=\d)/, ''), y.replace(/^0+(?=\d)/, '')];
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}
