// The one-line summaries of the page's sections, in words: the image count and size, what a garbage
// collection removes and keeps, and the question before it runs.
import { formatBytes, plural } from './format.js';
import type { ImageInfo, PreviewEntry } from './records.js';

/** `3 images, 12 MB`: the store's image count and their total size. */
export function imagesSummary(images: ImageInfo[]): string {
  const total = images.reduce((sum, i) => sum + i.size, 0);
  return `${plural(images.length, 'image')}, ${formatBytes(total)}`;
}

/** What a garbage collection would remove (count and size) and keep, from its preview. */
export function gcSummary(preview: PreviewEntry[], images: ImageInfo[]): string {
  const sizes = new Map(images.map((i) => [i.id, i.size]));
  const removed = preview.filter((p) => !p.kept);
  if (removed.length === 0) return 'Nothing to remove: every image is needed by a deployment.';
  const bytes = removed.reduce((sum, p) => sum + (sizes.get(p.id) ?? 0), 0);
  return `Garbage collection removes ${plural(removed.length, 'image')} (${formatBytes(bytes)}) and keeps ${
    preview.length - removed.length
  }.`;
}

/** The question before a garbage collection: how many images it removes, when the preview says. */
export function gcQuestion(preview: PreviewEntry[] | null): string {
  const removed = preview?.filter((p) => !p.kept).length;
  if (removed === undefined) return 'Every image that no deployment references is removed.';
  if (removed === 1) return '1 image that no deployment references is removed.';
  return `${removed} images that no deployment references are removed.`;
}

/** The preview rows in order: what goes first, then what stays, each by image ID. */
export const previewOrder = (preview: PreviewEntry[]) =>
  [...preview].sort((a, b) => Number(a.kept) - Number(b.kept) || a.id.localeCompare(b.id));

/** The images in order of their first name; nameless ones last. */
export const imageOrder = (images: ImageInfo[]) =>
  [...images].sort((a, b) => (a.names[0] ?? '~').localeCompare(b.names[0] ?? '~'));
