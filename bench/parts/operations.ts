// The operations table (src/core/operations.ts): every method's zod schemas, built when it is loaded.
import { OPERATIONS } from '../../src/core/operations.js';

(globalThis as { keep?: unknown }).keep = OPERATIONS;
