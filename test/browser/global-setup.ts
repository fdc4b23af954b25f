// Once per browser run: the Cockpit page built from cockpit/ into .cache/test-cockpit (as `make build` builds
// it), and a clean screenshot directory. The daemon bundle, polkit actions and test user come from the
// integration tier's global setup, which this tier runs first.
import { mkdirSync, rmSync } from 'node:fs';
import { buildPage, REPORT_DIR } from '../helpers/cockpit.js';

export default function setup() {
  buildPage();
  rmSync(REPORT_DIR, { recursive: true, force: true });
  mkdirSync(REPORT_DIR, { recursive: true });
}
