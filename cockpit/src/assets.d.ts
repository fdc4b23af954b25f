// Stylesheets are imported for their side effect; esbuild bundles them into index.css (cockpit/build.mjs).
declare module '*.css';
