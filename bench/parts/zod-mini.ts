// zod/mini, zod's tree-shakable functional API, one schema built: what the core's schemas would cost on it.
import * as z from 'zod/mini';

(globalThis as { keep?: unknown }).keep = z.object({ a: z.string() });
