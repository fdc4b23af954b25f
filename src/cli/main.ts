#!/usr/bin/env node
// bootc-storagectl: the command-line client of bootc-storaged (org.bootc.Storage on the system bus).

import { formatErrorLine } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import { runCli } from './program.js';

// A failure dbus-next reports out of band (e.g. a refused Hello) must still end as one line and a status.
process.on('unhandledRejection', (reason) => {
  const text = reason instanceof Error ? reason.message : String(reason);
  process.stderr.write(formatErrorLine(`unexpected failure: ${text}`));
  process.exit(EXIT.FAILURE);
});

// A reader that went away (`bootc-storagectl list | head -1`) is not a failure: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.OK);
    throw err;
  });
}

// The bundle is CommonJS (no top-level await).
void runCli(process.argv, { stdout: process.stdout, stderr: process.stderr }).then((code) =>
  process.exit(code),
);
