// Exists latency from a warm client while a slow pull runs (the proxy throttled so an ~8 MB pull lasts over
// 10 s), against the same client with the daemon idle: p50, p99 and max.

import { call, fmtMs, main, note, nowMs, percentile, sleep, table, timed, withStack } from './lib.js';

const MiB = 1024 * 1024;
const IMAGE_BYTES = 8 * MiB;
/** Bytes per second through the proxy: ~8.4 MB at 700 kB/s is ~12 s. */
const RATE = Number(process.env.BENCH_RDP_RATE ?? 700_000);
const N_IDLE = Number(process.env.BENCH_RDP_N_IDLE ?? 1000);
const MIN_N = 500;
/** Pause between two calls, the same idle and during the pull, so samples spread over the whole pull. */
const GAP_MS = 5;
const TARGET_P99 = 10;

interface Row {
  label: string;
  samples: number[];
  seconds: number;
}

main(() =>
  withStack(async (s) => {
    const present = `${s.registry.host}/bench/rdp-present:v1`;
    const slowRepo = 'bench/rdp-slow';
    const slow = `${s.proxy.host}/${slowRepo}:v1`;
    note('build and push a tiny image (the one Exists asks about) and an 8 MiB one (the slow pull)');
    await s.builder.buildAndPush(present, { bytes: 64 });
    await s.builder.buildAndPush(`${s.registry.host}/${slowRepo}:v1`, { bytes: IMAGE_BYTES });
    await call(s.client, 'Pull', 'ss', [present, 'missing']);

    const sample = async () => {
      const { ms, value } = await timed(() => call(s.client, 'Exists', 's', [present]));
      if (value[0] !== true) throw new Error(`Exists(${present}) answered ${String(value[0])}`);
      return ms;
    };
    // Warm-up: the first read after the pull re-lists the store; polkit's answer for this client gets cached.
    for (let i = 0; i < 50; i++) await sample();

    const rows: Row[] = [];
    note(`idle: ${N_IDLE} Exists calls, ${GAP_MS} ms apart`);
    let t0 = nowMs();
    const idle: number[] = [];
    for (let i = 0; i < N_IDLE; i++) {
      idle.push(await sample());
      await sleep(GAP_MS);
    }
    rows.push({ label: 'idle', samples: idle, seconds: (nowMs() - t0) / 1000 });

    note(`during a pull of ${IMAGE_BYTES / MiB} MiB throttled to ${RATE / 1000} kB/s`);
    s.proxy.setRate(RATE);
    let pullMs = 0;
    let pulling = true;
    t0 = nowMs();
    const pull = call(s.client, 'Pull', 'ss', [slow, 'always']).finally(() => {
      pullMs = nowMs() - t0;
      pulling = false;
    });
    // Until the daemon reports the pull as running (the job exists), then sample until its reply.
    for (;;) {
      const [jobs] = (await call(s.client, 'ListJobs')) as [unknown[]];
      if (jobs.length > 0) break;
      await sleep(5);
    }
    const during: number[] = [];
    const d0 = nowMs();
    while (pulling) {
      during.push(await sample());
      await sleep(GAP_MS);
    }
    rows.push({
      label: `during the pull (${fmtMs(pullMs)} in all)`,
      samples: during,
      seconds: (nowMs() - d0) / 1000,
    });
    const [fetched] = await pull;
    s.proxy.setRate(1024 * 1024 * 1024);
    if (fetched !== true) throw new Error(`Pull(${slow}) answered ${String(fetched)}`);
    if (during.length < MIN_N)
      throw new Error(
        `only ${during.length} samples during the pull (want ≥ ${MIN_N}): lower BENCH_RDP_RATE`,
      );

    console.log('## Reads during a slow pull: Exists latency\n');
    console.log(
      `Exists of a present image from one warm dbus-next client, call to reply, one call every ~${GAP_MS} ms ` +
        `(a ${GAP_MS} ms pause after each reply). Idle: nothing else running, N=${N_IDLE}. During the pull: ` +
        `\`Pull(ref, "always")\` of a ${IMAGE_BYTES / MiB} MiB single-layer image through the throttling ` +
        `proxy at ${RATE / 1000} kB/s (default daemon options, so \`skopeo inspect\` runs too), sampled from ` +
        'the moment ListJobs shows the job until the Pull replies (the last samples overlap the image being ' +
        "committed to the store, after which the daemon's next read re-lists it once). The throttling proxy " +
        "runs in the benchmark's own process, beside the client, as in the tests. Percentiles by nearest " +
        `rank. Target: p99 ≤ ${TARGET_P99} ms during the pull.\n`,
    );
    console.log(
      table(
        ['daemon', 'N', 'over', 'p50', 'p90', 'p99', 'max', `target p99 ≤ ${TARGET_P99} ms`],
        rows.map((r) => {
          const p99 = percentile(r.samples, 99);
          return [
            r.label,
            `${r.samples.length}`,
            `${r.seconds.toFixed(1)} s`,
            fmtMs(percentile(r.samples, 50)),
            fmtMs(percentile(r.samples, 90)),
            fmtMs(p99),
            fmtMs(Math.max(...r.samples)),
            r === rows[0] ? '— (reference)' : p99 <= TARGET_P99 ? 'met' : 'MISSED',
          ];
        }),
      ),
    );
    const worst = [...during].sort((a, b) => b - a).slice(0, 5);
    console.log(`\nThe five slowest calls during the pull: ${worst.map(fmtMs).join(', ')}.\n`);
  }),
);
