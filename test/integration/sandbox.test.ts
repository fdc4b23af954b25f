// `make run` itself: the sandbox script brings up bus, polkitd, registry and daemon, and every command it
// prints to the user, busctl and bootc-storagectl lines alike, answers as it says (--smoke runs them and checks
// the answers).

import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/system-bus.js';
import { makeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

it('brings up the sandbox and every printed busctl and bootc-storagectl command works, from inside a private directory', async () => {
  // As in a `mktemp -d` clone: the sandbox's own directory sits below one only root may enter (0700), which
  // polkitd (its own user) and nobody could not pass to reach a bus socket there.
  const tmp = makeTempDir('bsd-sandbox-run-');
  const busDirs = () => readdirSync('/tmp').filter((n) => n.startsWith('bootc-storaged-bus.'));
  const before = busDirs();
  try {
    expect(statSync(tmp.path).mode & 0o777).toBe(0o700);
    const { stdout } = await run('bash', [join(REPO, 'scripts/sandbox.sh'), '--smoke'], {
      cwd: REPO,
      env: {
        ...process.env,
        // Short: podman refuses a run root path over 50 characters (the demo image is built under it).
        SANDBOX_DIR: join(tmp.path, 'c'),
        SANDBOX_BUNDLE: join(REPO, '.cache/test-bundle'),
      },
      timeout: 120_000,
    });
    expect(stdout).toContain('sandbox smoke: all commands answered as expected');
    expect(busDirs()).toEqual(before); // the bus directory it made under /tmp went with it
    expect(stdout).toContain("ok: the daemon runs with the unit's node flags (code cache accepted)");
    // Every printed command, busctl and bootc-storagectl alike, was run and answered as expected.
    expect(stdout.match(/^ok: busctl /gm)?.length).toBe(11);
    expect(stdout.match(/^ok: (timeout --signal=INT 5 )?node \S+\/bootc-storagectl\.cjs /gm)?.length).toBe(
      10,
    );
    expect(stdout).toMatch(
      /^ok: runuser -u nobody -- node \S+\/bootc-storagectl\.cjs --no-ask-password pull /m,
    );
    expect(stdout.match(/^ok: /gm)?.length).toBe(26);
  } finally {
    tmp.remove();
  }
});
