// Writes (or with --check, verifies) the contract files generated from src/core/operations.ts and
// src/errors.ts: dbus/org.bootc.Storage.xml and varlink/org.bootc.Storage.varlink (the daemon renders the same
// IDL text at run time, with the same renderer). The renderers are TypeScript; esbuild bundles them in memory
// so this runs on a plain Node 20.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const out = await build({
  entryPoints: [join(root, 'scripts/contract/generate.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  write: false,
  packages: 'external',
  logLevel: 'error',
});
// Beside the sources, so its bare imports (zod) resolve from node_modules.
const tmp = join(root, '.cache', `generate-contract-${process.pid}.mjs`);
mkdirSync(dirname(tmp), { recursive: true });
writeFileSync(tmp, out.outputFiles[0].text);
let mod;
try {
  mod = await import(tmp);
} finally {
  rmSync(tmp, { force: true });
}
const files = mod.renderContractFiles((p) => readFileSync(join(root, p), 'utf8'));
let stale = 0;
for (const [path, content] of files) {
  const current = readFileSync(join(root, path), 'utf8');
  if (current === content) continue;
  if (check) {
    stale += 1;
    console.error(
      `${path} is stale: run \`make generate\` (node scripts/generate-contract.mjs) and commit it`,
    );
  } else {
    writeFileSync(join(root, path), content);
    console.log(`wrote ${path}`);
  }
}
if (stale > 0) process.exit(1);
