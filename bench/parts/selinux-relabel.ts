// SELinux labelling of a new store (src/storage/selinux-label.ts, relabel.ts): the relabeler built as at store
// creation.
import { createDeploymentRelabeler } from '../../src/storage/selinux-label.js';

(globalThis as { keep?: unknown }).keep = createDeploymentRelabeler('/nonexistent', '/');
