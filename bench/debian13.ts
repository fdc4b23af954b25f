// The read and pull benchmarks on the platform generation bootc hosts run: inside a booted Debian 13 (podman
// 5.4, skopeo 1.18, systemd 257, Debian's own nodejs 20), started with the booted tier's helpers
// (test/system/lib/container.ts). Each benchmark runs there as it runs here (its own private bus, polkitd,
// registry and sandbox, raw podman measured in the same run) and its section is printed under this one; its
// targets go into the run's summary marked "(Debian 13)". BENCH_DEBIAN13 picks the benchmarks ("reads pull").

import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bootContainer, platformOf, podmanVersion, REPO } from '../test/system/lib/container.js';
import { main, note } from './lib.js';

const INNER = (process.env.BENCH_DEBIAN13 ?? 'reads pull').split(/\s+/).filter(Boolean);
/** Where the benchmarks' temporary directories go inside: a host directory, as podman's overlay driver cannot
 * keep a store on the container's own root (an overlayfs). */
const TMP_INSIDE = '/var/tmp/bench';

main(async () => {
  const platform = platformOf('trixie');
  mkdirSync(join(REPO, '.cache'), { recursive: true });
  const tmp = mkdtempSync(join(REPO, '.cache/bench-debian13-'));
  chmodSync(tmp, 0o755); // polkitd (its own user) and nobody reach the private bus's socket below it
  const targets = process.env.BENCH_TARGETS;
  const binds = [
    `${REPO}:${REPO}`, // the bench bundles and the daemon bundle they start, at the paths they know
    `${tmp}:${TMP_INSIDE}`,
    '/usr/bin/docker-registry:/usr/bin/docker-registry', // the test registry (one static Go binary)
    ...(targets ? [`${dirname(targets)}:${dirname(targets)}`] : []),
  ];
  note(`booting ${platform.label} for ${INNER.join(', ')}`);
  const c = await bootContainer('bench', { generation: 'trixie', binds });
  try {
    const version = async (argv: string[]) => (await c.run(argv)).trim().split('\n')[0];
    const facts = [
      ['OS', await version(['sh', '-c', '. /etc/os-release && echo "$PRETTY_NAME"'])],
      ['podman', await podmanVersion(c)],
      ['skopeo', await version(['skopeo', '--version'])],
      ['systemd', await version(['systemctl', '--version'])],
      ['node (runs the daemon and the benchmark)', await version(['node', '--version'])],
    ];
    console.log(`## On ${platform.label}: ${INNER.map((b) => `bench/${b}.ts`).join(', ')}\n`);
    console.log(
      'The same benchmarks, run inside a booted Debian 13 (systemd-nspawn, the booted tier’s rootfs) on this ' +
        'machine, right after the sections above: its podman is the raw podman they compare against.\n',
    );
    console.log('| | |\n|---|---|');
    for (const [k, v] of facts) console.log(`| ${k} | ${v} |`);
    console.log('');
    const pass = Object.entries(process.env)
      .filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_DEBIAN13')
      .map(([k, v]) => `${k}=${v}`);
    for (const b of INNER) {
      note(`${platform.label}: bench/${b}.ts`);
      const r = await c.exec(
        [
          'env',
          ...pass,
          `TMPDIR=${TMP_INSIDE}`,
          `BENCH_PLATFORM=${platform.label}`,
          'node',
          join(REPO, '.cache/bench', `${b}.cjs`),
        ],
        { timeoutMs: 30 * 60_000 },
      );
      process.stderr.write(r.stderr);
      if (r.code !== 0) throw new Error(`bench/${b}.ts inside ${platform.label} exited ${r.code}`);
      // Its sections become subsections of this one.
      console.log(r.stdout.replace(/^(#+) /gm, '#$1 '));
    }
  } finally {
    await c.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
