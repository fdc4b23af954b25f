// commander with one option parsed: what the daemon's command line cost before src/daemon-options.ts.
import { Command } from 'commander';

(globalThis as { keep?: unknown }).keep = new Command().option('--sysroot <dir>').parse(['node', 'x']);
