// Loaded into the daemon with `node --require` (NODE_OPTIONS, which refuses --cpu-prof on Node 20) by
// bench/huge-message.ts when BENCH_HUGE_CPU_PROF names a directory: V8's sampling profiler from the first line,
// every CPU_PROF_INTERVAL_US (100 µs), written there as <pid>.cpuprofile (Chrome DevTools' format) when the process exits.
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.CPU_PROF_INTERVAL_US ?? 100) });
  session.post('Profiler.start');
  // An in-process session answers synchronously, so this finishes inside the 'exit' event.
  process.on('exit', () =>
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    }),
  );
}
