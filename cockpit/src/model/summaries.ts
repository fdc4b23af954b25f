// The one-line summaries of the page's sections, in words: the image count and size, what a garbage
// collection removes and keeps, and the question before it runs. Their words go through `t`, the page's
// translation (cockpit.gettext, which the model may not call itself); the tests read them in English.
import { formatBytes } from './format.js';
import type { ImageInfo, PreviewEntry } from './records.js';

/** A message in the reader's language: the page passes cockpit.gettext, the tests nothing (English). */
export type Translate = (message: string) => string;
const english: Translate = (message) => message;

/** `3 images`, its noun translated. */
const images = (n: number, t: Translate) => `${n} ${n === 1 ? t('image') : t('images')}`;

/** `3 images, 12 MB`: the store's image count and their total size. */
export function imagesSummary(list: ImageInfo[], t: Translate = english): string {
  const total = list.reduce((sum, i) => sum + i.size, 0);
  return `${images(list.length, t)}, ${formatBytes(total)}`;
}

/** What a garbage collection would remove (count and size) and keep, from its preview. */
export function gcSummary(preview: PreviewEntry[], list: ImageInfo[], t: Translate = english): string {
  const sizes = new Map(list.map((i) => [i.id, i.size]));
  const removed = preview.filter((p) => !p.kept);
  if (removed.length === 0) return t('Nothing to remove: every image is needed by a deployment.');
  const bytes = removed.reduce((sum, p) => sum + (sizes.get(p.id) ?? 0), 0);
  return `${t('Garbage collection removes')} ${images(removed.length, t)} (${formatBytes(bytes)}) ${t(
    'and keeps',
  )} ${preview.length - removed.length}.`;
}

/** The question before a garbage collection: how many images it removes, when the preview says. */
export function gcQuestion(preview: PreviewEntry[] | null, t: Translate = english): string {
  const removed = preview?.filter((p) => !p.kept).length;
  if (removed === undefined) return t('Every image that no deployment references is removed.');
  if (removed === 1) return t('1 image that no deployment references is removed.');
  return `${removed} ${t('images that no deployment references are removed.')}`;
}

/** The preview rows in order: what goes first, then what stays, each by image ID. */
export const previewOrder = (preview: PreviewEntry[]) =>
  [...preview].sort((a, b) => Number(a.kept) - Number(b.kept) || a.id.localeCompare(b.id));

/** The images in order of their first name; nameless ones last. */
export const imageOrder = (images: ImageInfo[]) =>
  [...images].sort((a, b) => (a.names[0] ?? '~').localeCompare(b.names[0] ?? '~'));
