#!/usr/bin/env node
// bootc-storaged: wiring only. Parses the command line, opens the store, and (with --self-check) proves the
// engine works end to end on this host.

import { Command } from 'commander';
import { toStorageError } from './errors.js';
import { createLogger } from './log.js';
import { Store } from './storage/store.js';
import { VERSION } from './version.js';

const program = new Command()
  .name('bootc-storaged')
  .description(
    "Owns bootc's containers-storage instance and serves it on the system bus as org.bootc.Storage",
  )
  .version(VERSION)
  .option('--sysroot <dir>', 'sysroot holding ostree/bootc/storage', '/sysroot')
  .option('--run <dir>', 'run directory (runroot at <run>/bootc/storage)', '/run')
  .option(
    '--auth-root <dir>',
    'where {run,etc,usr/lib}/ostree/auth.json are looked up (default: the sysroot)',
  )
  .option('--self-check', 'create/open the store, list it, print a JSON summary and exit')
  .parse();

const opts = program.opts<{ sysroot: string; run: string; authRoot?: string; selfCheck?: boolean }>();
const log = createLogger();

async function main(): Promise<number> {
  const store = await Store.create({
    sysroot: opts.sysroot,
    run: opts.run,
    authRoot: opts.authRoot,
    logger: log,
  });
  try {
    const images = await store.list();
    process.stdout.write(`${JSON.stringify({ store: store.storePath, images }, null, 2)}\n`);
    return 0;
  } finally {
    store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = toStorageError(err);
    log.error({ err: { name: e.name, details: e.details } }, e.message);
    process.exit(1);
  },
);
