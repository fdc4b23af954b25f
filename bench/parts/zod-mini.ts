// zod as the daemon gets it (src/schema.ts: zod/mini, English messages), one schema built.
import * as z from '../../src/schema.js';

(globalThis as { keep?: unknown }).keep = z.object({ a: z.string() });
