// `make run` itself: the sandbox script brings up bus, polkitd, registry and daemon, and every command it
// prints to the user answers as it says (--smoke runs them and checks the answers).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/system-bus.js';
import { makeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

it('brings up the sandbox and every printed busctl command works', async () => {
  const tmp = makeTempDir('bsd-sandbox-run-');
  try {
    const { stdout } = await run('bash', [join(REPO, 'scripts/sandbox.sh'), '--smoke'], {
      cwd: REPO,
      env: { ...process.env, SANDBOX_DIR: tmp.path, SANDBOX_BUNDLE: join(REPO, '.cache/test-bundle') },
      timeout: 120_000,
    });
    expect(stdout).toContain('sandbox smoke: all commands answered as expected');
    expect(stdout).toContain("ok: the daemon runs with the unit's node flags (code cache accepted)");
    expect(stdout.match(/^ok: /gm)?.length).toBe(15);
  } finally {
    tmp.remove();
  }
});
