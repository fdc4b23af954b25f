// Who needs each image: the deployments that bind it or boot from it, read from the bound images and the
// reasons of PreviewGarbageCollect.
import type { BoundImage, ImageInfo, PreviewEntry } from './records.js';

/** Why an image is in the store: each binding deployment, the host image it is, or nothing. */
export type Usage =
  | { kind: 'bound'; deployment: string; file: string }
  | { kind: 'host'; deployment: string }
  | { kind: 'unused' };

const BOUND_REASON = /^bound by (\S+) \((.*)\)$/;
const HOST_REASON = /^host image of (\S+)$/;

/** A PreviewGarbageCollect reason names every deployment that needs the image, separated by `; `. */
export const splitReasons = (reason: string) => reason.split('; ').filter((r) => r !== '');

/** Reads one PreviewGarbageCollect reason. */
export function parseReason(reason: string): Usage | undefined {
  const bound = BOUND_REASON.exec(reason);
  if (bound) return { kind: 'bound', deployment: bound[1]!, file: bound[2]! };
  const host = HOST_REASON.exec(reason);
  if (host) return { kind: 'host', deployment: host[1]! };
  if (reason === 'referenced by no deployment') return { kind: 'unused' };
  return undefined;
}

/**
 * Who needs each image (by ID): the bound images whose reference is one of its names, and the reason the GC
 * preview gives. An image nothing needs gets one `unused`.
 */
export function usagesByImage(
  images: ImageInfo[],
  bound: BoundImage[],
  preview: PreviewEntry[],
): Map<string, Usage[]> {
  const out = new Map<string, Usage[]>();
  const key = (u: Usage) => (u.kind === 'unused' ? 'unused' : `${u.kind} ${u.deployment}`);
  for (const image of images) {
    const list: Usage[] = [];
    const seen = new Set<string>();
    const add = (u: Usage) => {
      if (!seen.has(key(u))) {
        seen.add(key(u));
        list.push(u);
      }
    };
    for (const b of bound) {
      if (image.names.includes(b.image)) add({ kind: 'bound', deployment: b.deployment, file: b.file });
    }
    const entry = preview.find((p) => p.id === image.id);
    const reasons = entry ? splitReasons(entry.reason).map(parseReason) : [];
    for (const r of reasons) if (r && r.kind !== 'unused') add(r);
    if (list.length === 0 && (entry?.kept === false || reasons.some((r) => r?.kind === 'unused'))) {
      add({ kind: 'unused' });
    }
    out.set(image.id, list);
  }
  return out;
}
