// The entry of bootc-storaged-execa.cjs: execa alone, required by a bundle on its first child process
// (src/process/execa-loader.ts; scripts/bundle-options.mjs points the bundles' `execa` import here).
export * from 'execa';
