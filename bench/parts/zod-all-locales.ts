// zod with all its locales, as it was bundled before scripts/zod-locales-en.mjs (bench/bundle.mjs builds this
// part without that redirect).
import { z } from 'zod';

(globalThis as { keep?: unknown }).keep = z.object({ a: z.string() });
