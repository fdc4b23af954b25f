// The daemon's view of the store's images, so reads never wait behind a running pull. It is refreshed after
// each of the daemon's own writes, and re-read whenever the store's change token moved (another writer).
// podman stays the source of truth: the view is only ever a copy of what `podman image list` said.

import type { ImageEntry } from '../storage/parse-image-list.js';
import type { Store } from '../storage/store.js';

export class ImageView {
  private images: ImageEntry[] | undefined;
  private token: string | undefined;
  private refreshing: Promise<ImageEntry[]> | undefined;

  constructor(private readonly store: Pick<Store, 'list' | 'changeToken'>) {}

  /** The current images: from memory when nothing changed since the last read, else re-read once. */
  async get(): Promise<ImageEntry[]> {
    if (this.images !== undefined && this.store.changeToken() === this.token) return this.images;
    return this.refresh();
  }

  /** Re-reads from podman; concurrent callers share one podman run. */
  refresh(): Promise<ImageEntry[]> {
    this.refreshing ??= (async () => {
      // Token first: a write that lands during the list makes the next get() read again.
      const token = this.store.changeToken();
      const images = await this.store.list();
      this.images = images;
      this.token = token;
      return images;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}
