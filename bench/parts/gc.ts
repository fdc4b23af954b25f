// Garbage-collection roots (src/gc: ostree deployments, bound images, boot order, GVariant origin parsing),
// run once on a sysroot without deployments.
import { findGcRoots } from '../../src/gc/find-roots.js';
import { previewGarbageCollect } from '../../src/gc/gc-preview.js';

let roots: unknown;
try {
  roots = findGcRoots('/nonexistent');
} catch (err) {
  roots = err;
}
(globalThis as { keep?: unknown }).keep = [roots, previewGarbageCollect];
