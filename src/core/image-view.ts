// The daemon's view of the store's images, so reads never wait behind a running pull. It is refreshed after
// each of the daemon's own writes, and re-read whenever the store's change token moved (another writer).
// podman stays the source of truth: the view is only ever a copy of what `podman image list` said.

import type { ImageEntry } from '../storage/parse-image-list.js';
import type { ImageReference } from '../storage/reference.js';
import { imageKeys, referenceKeys, type Store } from '../storage/store.js';

export class ImageView {
  private images: ImageEntry[] | undefined;
  /** Normalized name/digest keys → image, built once per refresh so a lookup never scans the store. */
  private index = new Map<string, ImageEntry>();
  private token: string | undefined;
  private refreshing: Promise<ImageEntry[]> | undefined;

  constructor(private readonly store: Pick<Store, 'list' | 'changeToken'>) {}

  /** The current images: from memory when nothing changed since the last read, else re-read once. */
  async get(): Promise<ImageEntry[]> {
    if (this.images !== undefined && this.store.changeToken() === this.token) return this.images;
    return this.refresh();
  }

  /** The image a reference names, if any (same matching as Store.findImage, from the index). */
  async find(ref: ImageReference): Promise<ImageEntry | undefined> {
    await this.get();
    for (const key of referenceKeys(ref)) {
      const hit = this.index.get(key);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Re-reads from podman; concurrent callers share one podman run. */
  refresh(): Promise<ImageEntry[]> {
    this.refreshing ??= (async () => {
      // Token first: a write that lands during the list makes the next get() read again.
      const token = this.store.changeToken();
      const images = await this.store.list();
      const index = new Map<string, ImageEntry>();
      for (const image of images)
        for (const key of imageKeys(image)) if (!index.has(key)) index.set(key, image);
      this.images = images;
      this.index = index;
      this.token = token;
      return images;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}
