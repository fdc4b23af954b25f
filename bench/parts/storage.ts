// The engine (src/storage/store.ts: podman invocation, manifest check, image-list parsing) as the daemon loads it.
import { Store } from '../../src/storage/store.js';

(globalThis as { keep?: unknown }).keep = Store;
