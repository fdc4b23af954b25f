// The V8 flags the daemon runs with are the unit's (systemd/bootc-storaged.service Environment=NODE_OPTIONS=),
// and the test harness starts the daemon with the same ones, so what the benchmarks measure is what ships.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DAEMON_NODE_OPTIONS } from '../helpers/daemon.js';
import { REPO } from '../helpers/system-bus.js';

it('the harness and bootc-storaged.service give node the same flags', () => {
  const unit = readFileSync(join(REPO, 'systemd/bootc-storaged.service'), 'utf8');
  const lines = unit.split('\n').filter((l) => /^Environment="?NODE_OPTIONS=/.test(l));
  // Quoted: the value holds a space, and unquoted systemd keeps only its first word (and warns).
  expect(lines).toEqual([`Environment="NODE_OPTIONS=${DAEMON_NODE_OPTIONS}"`]);
});
