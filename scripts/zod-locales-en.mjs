// What the daemon bundle gets for zod's `locales/index.js` (scripts/bundle-options.mjs): only English. zod's
// namespace export `z` keeps every locale reachable, so without this all 60-odd message catalogues are
// evaluated at start-up (~6 MiB of idle RSS, measured by bench/memory.ts); zod configures English itself and
// the daemon never switches locale.
export { default as en } from 'zod/v4/locales/en.js';
