// Once per integration run: bundle the daemon (and CLI) so tests start them as real processes, install the
// project's polkit actions where polkitd reads them, and create the unprivileged test user that a test polkit
// rule lets pull (so "the owner may cancel its own job" is tested with a real non-root owner), and the user
// the SSH tests log in as (a shell, since sshd runs every command through it; no rule: polkit refuses it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { installPolkitPolicy, REPO } from '../helpers/system-bus.js';

export const TEST_USER = 'bsd-tester';
/** Logs in over the test's sshd (`-H`); its password is `*`, not `!`: sshd without PAM refuses locked accounts. */
export const REMOTE_TEST_USER = 'bsd-remote';
const RULE = '/etc/polkit-1/rules.d/50-bootc-storaged-tests.rules';

export default function setup() {
  execFileSync('node', ['scripts/bundle.mjs', '.cache/test-bundle'], { cwd: REPO, stdio: 'inherit' });
  installPolkitPolicy();
  try {
    execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER]);
  }
  try {
    execFileSync('id', ['-u', REMOTE_TEST_USER], { stdio: 'ignore' });
  } catch {
    // A home too: sshd says so on every login without one.
    execFileSync('useradd', [
      '--system',
      '--create-home',
      '--home-dir',
      `/var/lib/${REMOTE_TEST_USER}`,
      '--shell',
      '/bin/sh',
      REMOTE_TEST_USER,
    ]);
    execFileSync('usermod', ['-p', '*', REMOTE_TEST_USER]);
  }
  if (!existsSync(RULE)) {
    mkdirSync('/etc/polkit-1/rules.d', { recursive: true });
    writeFileSync(
      RULE,
      `// Installed by bootc-storaged's integration tests: the test user may pull without a password.\n` +
        `polkit.addRule(function (action, subject) {\n` +
        `  if (action.id === "org.bootc.storage.pull" && subject.user === "${TEST_USER}") return polkit.Result.YES;\n` +
        `});\n`,
    );
  }
}
