// The soak's short form (`make soak` runs the long one, see test/soak/): one minute of mixed traffic from root
// and nobody over D-Bus and Varlink while every fault kind is injected (SIGKILL and restart of the daemon, a
// restarted and a stalled registry, a full disk, the sysroot lock held), with a fixed seed. Every checkpoint's
// invariants must hold, every call must be answered in time (or be interrupted by a kill), every fault kind
// must have been injected and every kind of call must have run.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/system-bus.js';
import { DEFAULT_CONFIG, type SoakConfig } from '../soak/config.js';
import { runSoak } from '../soak/engine.js';
import { FAULT_KINDS } from '../soak/faults.js';
import { CALL_KINDS } from '../soak/operations.js';
import { renderSoakSvg } from '../soak/plot.js';
import { renderReport, renderSummary } from '../soak/report.js';

const CONFIG: SoakConfig = {
  ...DEFAULT_CONFIG,
  durationMs: 60_000,
  seed: 424242,
  faultGapMs: [1_000, 2_500],
  faultHoldMs: [1_500, 6_500],
  registryDownMs: [300, 1_200],
  outDir: join(REPO, '.cache/reports/soak-short'),
};

it('one minute of traffic under every fault kind: no invariant failure, every call kind ran', async () => {
  const r = await runSoak(CONFIG, (line) => console.log(line));
  console.log(renderSummary(r));
  // The full report of this run, for when it fails: .cache/reports/soak-short/ (with the daemons' logs).
  writeFileSync(join(CONFIG.outDir, 'report.md'), renderReport(r, 'rss.svg'));
  writeFileSync(
    join(CONFIG.outDir, 'rss.svg'),
    renderSoakSvg('soak (short form)', r.samples, r.recorder.faults),
  );
  const failures = r.recorder.failures.map((f) => `${(f.at / 1000).toFixed(1)} s ${f.what}: ${f.detail}`);
  expect(failures).toEqual([]);
  expect(r.recorder.failureCount).toBe(0);
  for (const kind of FAULT_KINDS) expect(r.faultCounts[kind], kind).toBeGreaterThanOrEqual(1);
  const kinds = r.recorder.kindTotals();
  for (const kind of CALL_KINDS) expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(0);
  // Both transports and both users really called: answered calls on each.
  for (const key of ['read|dbus|root', 'read|varlink|root', 'read|dbus|nobody', 'read|varlink|nobody']) {
    expect(r.recorder.counts.get(key)?.ok ?? 0, key).toBeGreaterThan(0);
  }
  for (const key of ['pull|dbus|nobody', 'pull|varlink|nobody']) {
    expect(r.recorder.counts.get(key)?.refused ?? 0, key).toBeGreaterThan(0);
  }
  // Every checkpoint ran its checks (start, one per fault, end) and the kills were really interrupting.
  expect(r.recorder.checks.length).toBeGreaterThanOrEqual((r.recorder.faults.length + 2) * 10);
  expect(r.daemonStarts).toBe(1 + r.faultCounts['daemon-kill']);
  expect(r.heldKeep.length).toBe(2);
  // Cancels reached jobs while they ran (a 3 MiB pull at 1 MiB/s), not only ended ones.
  expect(r.recorder.byName.get('cancel CancelJob (running job)') ?? 0).toBeGreaterThan(0);
}, 300_000);
