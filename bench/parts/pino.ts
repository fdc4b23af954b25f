// pino: the daemon's logger as src/log.ts creates it.
import { createLogger } from '../../src/log.js';

(globalThis as { keep?: unknown }).keep = createLogger({ level: 'info', journal: false });
