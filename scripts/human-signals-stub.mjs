// Stands in for the npm package human-signals inside the bundles. execa 9 uses it only for signal
// descriptions in its own error messages, which this project never shows (its runner builds its own errors,
// src/process/supervise.ts), and building its tables at load cost ~4 MiB of idle RSS (measured).
export const signalsByName = new Proxy(
  {},
  { get: (_target, name) => ({ name: String(name), description: String(name) }) },
);
export const signalsByNumber = {};
