// The daemon's own command-line parser (node:util parseArgs), as the daemon runs it at start.
import { parseDaemonArgs } from '../../src/daemon-options.js';

(globalThis as { keep?: unknown }).keep = parseDaemonArgs(['--sysroot', '/sysroot']);
