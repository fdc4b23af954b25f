// A bound image's quadlet file, read as bootc reads it: the `Image=` of its [Image] or [Container] section
// (systemd unit syntax), canonicalized; and what a root is. Shared by the readers of a deployment's directory
// (find-roots.ts) and of an undeployed commit (commit-bound-images.ts).

import { createError } from '../errors.js';
import { readSmallFile } from '../storage/read-small-file.js';
import { parseReference } from '../storage/reference.js';

export const BOUND_IMAGES_DIR = 'usr/lib/bootc/bound-images.d';
/** Quadlet files are small; anything larger is refused rather than read. */
const MAX_QUADLET_BYTES = 256 * 1024;

export interface GcRoot {
  /** Normalized image reference. */
  image: string;
  /** The file that named it. */
  source: string;
  deployment: string;
  /** What made it a root: a bound-images.d link, or the deployment's own host image (its .origin). */
  kind?: 'bound' | 'host';
  /** A bound image's link as the deployment names it: `usr/lib/bootc/bound-images.d/<name>`. */
  file?: string;
  /** The quadlet file that link resolves to, relative to the deployment (where its `Image=` is). */
  quadlet?: string;
}

export function rootsError(file: string, message: string) {
  return createError('InvalidBoundImage', `${file}: ${message}`, { path: file });
}

/**
 * Reads `Image=` from the `[Image]` or `[Container]` section of a quadlet file (systemd unit syntax). `shownAs`
 * names the file in errors when its path is not what an admin knows it by (an ostree object of a commit).
 */
export function parseQuadletImage(path: string, section: 'Image' | 'Container', shownAs = path): string {
  const file = shownAs;
  const read = readSmallFile(path, { maxBytes: MAX_QUADLET_BYTES });
  if (!read.ok) throw rootsError(file, read.message);
  const text = read.content.toString('utf8');
  let current = '';
  let image: string | undefined;
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq === -1) throw rootsError(file, `line ${i + 1} is neither a section nor a key=value`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (current !== section) continue;
    if (section === 'Image' && key === 'AuthFile') {
      throw rootsError(file, 'AuthFile= is not supported for bound images (bootc uses the host auth.json)');
    }
    if (key === 'Image') image = expandSpecifiers(file, unquote(value));
  }
  if (image === undefined) throw rootsError(file, `has no Image= in its [${section}] section`);
  try {
    return parseReference(image).canonical;
  } catch (err) {
    throw rootsError(file, `Image=${JSON.stringify(image.slice(0, 100))}: ${(err as Error).message}`);
  }
}

/** `%%` is a literal `%`; any other systemd specifier cannot be resolved for a bound image. */
function expandSpecifiers(file: string, value: string): string {
  return value.replace(/%(.|$)/g, (_m, c: string) => {
    if (c === '%') return '%';
    throw rootsError(file, `Image= uses the specifier %${c}, which bound images do not support`);
  });
}

function unquote(v: string): string {
  return v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))
    ? v.slice(1, -1)
    : v;
}
