// What the page knows about the store, as plain data: the D-Bus replies of org.bootc.Storage turned into
// records, the job objects kept up to date from ObjectManager and PropertiesChanged, the error names the daemon
// answers with turned into words, and the numbers formatted. No DOM, no React and no cockpit.js here, so it is
// the same code in the page and in a test under Node (test/browser/page-model.test.ts). One module per subject
// in model/; this one gathers them.
export * from './model/errors.js';
export * from './model/format.js';
export * from './model/job-table.js';
export * from './model/job-text.js';
export * from './model/records.js';
export * from './model/summaries.js';
export * from './model/usage.js';
