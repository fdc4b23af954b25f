// The daemon's view of the store's images, so reads never wait behind a running pull. It is refreshed after
// each of the daemon's own writes, and re-read whenever the store's change token moved (another writer).
// podman stays the source of truth: the view is only ever a copy of what `podman image list` said.

import { imageKeys, lookupKeys } from '../storage/image-match.js';
import type { ImageEntry } from '../storage/parse-image-list.js';
import type { ImageReference } from '../storage/reference.js';
import type { Store } from '../storage/store.js';

interface Refresh {
  /** The change token read before the list started: the state this refresh can vouch for. */
  token: string;
  seq: number;
  promise: Promise<ImageEntry[]>;
}

export class ImageView {
  private images: ImageEntry[] | undefined;
  /** Normalized name/digest keys → image, built once per refresh so a lookup never scans the store. */
  private index = new Map<string, ImageEntry>();
  private token: string | undefined;
  private refreshing: Refresh | undefined;
  private started = 0;
  private applied = 0;

  constructor(private readonly store: Pick<Store, 'list' | 'changeToken'>) {}

  /**
   * The current images: from memory when the store did not change since the last read; else from a refresh
   * that started after the current state (joining one in flight only if it started from this same state, so a
   * read after our own write never gets a list taken before it).
   */
  async get(): Promise<ImageEntry[]> {
    const token = this.store.changeToken();
    if (this.images !== undefined && token === this.token) return this.images;
    if (this.refreshing?.token === token) return this.refreshing.promise;
    return this.start(token).promise;
  }

  /** The image a reference names, if any (same matching as Store.findImage, from the index). */
  async find(ref: ImageReference): Promise<ImageEntry | undefined> {
    await this.get();
    return this.lookup(ref);
  }

  /**
   * What the view knows of a reference without any podman call: `{ image }` (undefined image = absent) while
   * the view is current, i.e. the store's change token is the one read before the listing it holds; undefined
   * when it is not (never read, or anyone wrote since), so a caller never acts on a stale copy.
   */
  peek(ref: ImageReference): { image: ImageEntry | undefined } | undefined {
    if (this.images === undefined || this.store.changeToken() !== this.token) return undefined;
    return { image: this.lookup(ref) };
  }

  /** Every image, without any podman call, while the view is current (as peek); else undefined. */
  peekAll(): readonly ImageEntry[] | undefined {
    if (this.images === undefined || this.store.changeToken() !== this.token) return undefined;
    return this.images;
  }

  private lookup(ref: ImageReference): ImageEntry | undefined {
    for (const key of lookupKeys(ref)) {
      const hit = this.index.get(key);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Re-reads from podman now (start-up), whatever the token says. */
  refresh(): Promise<ImageEntry[]> {
    return this.start(this.store.changeToken()).promise;
  }

  private start(token: string): Refresh {
    const seq = ++this.started;
    const promise = (async () => {
      const images = await this.store.list();
      // Several refreshes can overlap (the store moved during one): only a newer one may replace the view.
      if (seq > this.applied) {
        const index = new Map<string, ImageEntry>();
        for (const image of images)
          for (const key of imageKeys(image)) if (!index.has(key)) index.set(key, image);
        this.images = images;
        this.index = index;
        this.token = token;
        this.applied = seq;
      }
      return images;
    })().finally(() => {
      if (this.refreshing?.seq === seq) this.refreshing = undefined;
    });
    const refresh = { token, seq, promise };
    this.refreshing = refresh;
    return refresh;
  }
}
