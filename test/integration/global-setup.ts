// Once per integration run: bundle the daemon so tests start it as a real process, and install the project's
// polkit actions where polkitd reads them.
import { execFileSync } from 'node:child_process';
import { installPolkitPolicy, REPO } from '../helpers/system-bus.js';

export default function setup() {
  execFileSync('node', ['scripts/bundle.mjs', '.cache/test-bundle'], { cwd: REPO, stdio: 'inherit' });
  installPolkitPolicy();
}
