// Builds (or finds) the scale benchmark's cached stores without running the benchmark:
// `node .cache/bench/scale-build.cjs [sizes…]` (default 100 1000 10000).

import { fmtMs, main, note } from './lib.js';
import { ensureStore } from './scale-fixture.js';

main(async () => {
  const sizes = process.argv.slice(2).map(Number);
  for (const n of sizes.length > 0 ? sizes : [100, 1000, 10000]) {
    const s = await ensureStore(n);
    note(
      `${n}: ${s.tar}${s.built ? ` built in ${fmtMs(s.built.ms)}: ${JSON.stringify(s.built.steps)}` : ' (cached)'}`,
    );
  }
});
