// Prune of many images through the daemon (`Prune([one root])`): its wall time and how many podman processes
// the daemon ran for it, against raw podman removing the same images one `podman image rm` per image, on an
// identical store (a copy of the populated store, put back at the same path before the raw run). The
// populated store is built once and kept under .cache/bench-stores/ (podman's records name the store only by
// its alias path, so a copy opens anywhere); delete that directory to rebuild it.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeImageArchive } from './image-archive.js';
import {
  call,
  fmtMs,
  fmtRatio,
  fmtStats,
  logTime,
  main,
  note,
  nowMs,
  podmanRuns,
  podmanVerb,
  RawPodman,
  stats,
  storeDir,
  table,
  timed,
  waitForLog,
  withStack,
} from './lib.js';
import { recordTarget } from './targets.js';

const N = Number(process.env.BENCH_PRUNE_N ?? 1000);
const REPO = 'localhost/bench/prune';
const ROOT = `${REPO}:keep`;
/** The populated store, kept between runs (bump the suffix when writeImageArchive changes). */
const CACHE = join(process.cwd(), '.cache', 'bench-stores', `prune-${N + 1}-v1`);

main(() =>
  withStack(async (s) => {
    const raw = new RawPodman(s);
    const store = storeDir(s);
    const backup = join(s.dir, 'prune-store-copy');
    const archive = join(s.dir, 'prune-images.tar');
    const names = Array.from({ length: N }, (_, i) => `${REPO}:i${i}`);
    const count = async () =>
      new Set((await raw.ok(['image', 'list', '--quiet', '--no-trunc'])).stdout.split('\n').filter(Boolean))
        .size;
    const setup: [string, number][] = [];
    let daemonMs: number;
    let removedCount: number;
    let runs: ReturnType<typeof podmanRuns>;
    let jobEndAt: number | undefined;
    const rawMs: number[] = [];
    let rawTotal: number;
    try {
      let t = nowMs();
      if (existsSync(join(CACHE, '.complete'))) {
        note(`restore the populated store from ${CACHE}`);
        execFileSync('rm', ['-rf', '--', store]);
        execFileSync('cp', ['-a', join(CACHE, 'storage'), store]);
        setup.push([`restore the cached store of ${N + 1} images (.cache/bench-stores)`, nowMs() - t]);
      } else {
        note(`write a docker-archive of ${N + 1} distinct one-layer images`);
        writeImageArchive(archive, [ROOT, ...names]);
        setup.push([`write the archive (${N + 1} images)`, nowMs() - t]);
        note('load it into the store with one raw `podman load` (the slow part of the setup; cached after)');
        setup.push([
          `raw \`podman load\` of ${N + 1} images`,
          (await raw.ok(['image', 'load', '-q', '-i', archive])).ms,
        ]);
        t = nowMs();
        const partial = `${CACHE}.partial`;
        execFileSync('rm', ['-rf', '--', partial, CACHE]);
        mkdirSync(partial, { recursive: true });
        execFileSync('cp', ['-a', store, join(partial, 'storage')]);
        writeFileSync(join(partial, '.complete'), '');
        renameSync(partial, CACHE);
        setup.push(['keep a copy under .cache/bench-stores for the next run', nowMs() - t]);
      }
      t = nowMs();
      const before = await count();
      setup.push(['raw `podman image list --quiet` (check)', nowMs() - t]);
      if (before !== N + 1) throw new Error(`the store holds ${before} images, expected ${N + 1}`);
      t = nowMs();
      execFileSync('cp', ['-a', store, backup]);
      execFileSync('sync');
      setup.push(['`cp -a` of the store (for the raw run) + sync', nowMs() - t]);

      // The daemon's view as a running daemon has it: read once since the last outside write (untimed).
      t = nowMs();
      await call(s.client, 'List');
      setup.push(["the daemon's view refresh after the outside write (a `List`, untimed)", nowMs() - t]);
      note(`daemon: Prune([${ROOT}]) of ${N} images`);
      const logFrom = s.daemon.output().length;
      const r = await timed(() => call(s.client, 'Prune', 'as', [[ROOT]]));
      daemonMs = r.ms;
      await waitForLog(s.daemon, '"msg":"job finished"', logFrom);
      const log = s.daemon.output().slice(logFrom);
      runs = podmanRuns(log);
      jobEndAt = logTime(log, 'job finished');
      removedCount = (r.value[0] as string[]).length;
      if (removedCount !== N) throw new Error(`Prune removed ${removedCount} images, expected ${N}`);
      const afterDaemon = await count();
      if (afterDaemon !== 1) throw new Error(`after Prune the store holds ${afterDaemon} images, expected 1`);

      note('restore the populated store at the same path');
      t = nowMs();
      execFileSync('rm', ['-rf', '--', store]);
      execFileSync('cp', ['-a', backup, store]);
      execFileSync('sync');
      setup.push(['restore the copy at the same path + sync', nowMs() - t]);

      note(`raw podman: ${N} × \`podman image rm\`, one image each`);
      const t0 = nowMs();
      for (const name of names) rawMs.push((await raw.ok(['image', 'rm', '--', name])).ms);
      rawTotal = nowMs() - t0;
      const afterRaw = await count();
      if (afterRaw !== 1) throw new Error(`after the raw removals the store holds ${afterRaw} images`);
    } finally {
      raw.close();
      execFileSync('rm', ['-rf', '--', backup, archive]);
    }

    // The daemon's podman runs for this call, grouped by what they did, with the time spent in each group
    // (each run lasts until the next starts; the last until the job ended).
    const byVerb = new Map<string, { n: number; ms: number }>();
    for (const [i, run] of runs.entries()) {
      const end = runs[i + 1]?.time ?? jobEndAt ?? run.time;
      const v = podmanVerb(run.args);
      const g = byVerb.get(v) ?? { n: 0, ms: 0 };
      g.n += 1;
      g.ms += end - run.time;
      byVerb.set(v, g);
    }
    const breakdown = [...byVerb].map(([v, g]) => `${g.n} × \`${v}\` (${fmtMs(g.ms)})`).join(', ');
    const rawStats = stats(rawMs);

    console.log(
      `## Prune: ${N.toLocaleString('en-US')} images through the daemon vs one raw \`podman image rm\` each\n`,
    );
    console.log(
      `A store of ${N + 1} distinct images (each one layer of 64 random bytes, loaded with one raw \`podman ` +
        `load\` of a generated docker-archive; distinct layers because with one layer shared by 1,000 images ` +
        '`podman image list` took 4 minutes on this machine), ' +
        `${N} of them garbage. Daemon: \`Prune(["${ROOT}"])\` from a ` +
        "warm dbus-next client, call to reply; podman runs counted from the daemon's `running podman` debug " +
        'lines for that call. Raw podman: the same store (a `cp -a` copy of it taken before the prune, put ' +
        `back at the same path), then one \`podman image rm -- name\` per image, ${N} processes one after ` +
        "another in the daemon's namespace invocation. One run each (the setup is what costs: see below). " +
        "The daemon's view is current when the Prune comes (it was read once after the store was put in " +
        "place), so the prune decides from it without a `podman image list` (exact: the store's change token " +
        'is unchanged since that listing, and the job runs in queue order). Target: the daemon at most raw ' +
        "podman's time.\n",
    );
    console.log(
      table(
        ['', 'images removed', 'wall time', 'podman processes', 'vs raw podman', 'target ≤ raw podman'],
        [
          [
            `daemon: \`Prune([1 root])\``,
            `${removedCount}`,
            fmtMs(daemonMs),
            `${runs.length}: ${breakdown}`,
            `${fmtRatio(rawTotal / daemonMs)} faster, ${fmtRatio(N / Math.max(1, runs.length))} fewer processes`,
            recordTarget({
              area: 'writes',
              measure: `Prune of ${N} images: daemon vs ${N} raw \`podman image rm\``,
              value: `${fmtMs(daemonMs)} vs ${fmtMs(rawTotal)} (${fmtRatio(daemonMs / rawTotal)})`,
              target: '≤ raw podman',
              met: daemonMs <= rawTotal,
            }),
          ],
          [
            `raw podman: ${N} × \`podman image rm\``,
            `${N}`,
            `${fmtMs(rawTotal)} (per call ${fmtStats(rawStats)})`,
            `${N}`,
            '1.00×',
            '— (reference)',
          ],
        ],
      ),
    );
    console.log('\nSetup (not part of the figures above):\n');
    console.log(
      table(
        ['step', 'time'],
        setup.map(([what, ms]) => [what, fmtMs(ms)]),
      ),
    );
    console.log(
      '\nThe daemon decides from its view (no list), removes in `podman image rm` calls of at most 100 names ' +
        'each, then re-lists once after the job to refresh its view, off the reply path. ' +
        `Per image removed: ${fmtMs((byVerb.get('image rm')?.ms ?? 0) / N)} inside the daemon's ` +
        `batched \`image rm\` calls, against ${fmtMs(rawTotal / N)} for a raw \`podman image rm\` of one ` +
        "image (podman's start-up, the store lock, and a rewrite of the store's image and layer records each " +
        'time; a batched call still pays per image for the record rewrites, so it is not far cheaper still). ' +
        `A \`podman image list\` of ${N + 1} images costs about as much as the raw check in the setup table: ` +
        'what deciding from the view saves.\n',
    );
  }),
);
