// classic zod as the daemon bundled it before src/schema.ts (English messages only, scripts/zod-locales-en.mjs).
import { z } from 'zod';

(globalThis as { keep?: unknown }).keep = z.object({ a: z.string() });
