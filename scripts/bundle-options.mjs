// The esbuild options of the daemon bundle, shared by scripts/bundle.mjs (what is installed and tested) and
// bench/bundle.mjs (bench/memory.ts's per-part bundles, built the same way so their costs are the daemon's).
// Each choice here was measured at rest by bench/memory.ts ("what each part costs").
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

const ZOD_LOCALES_EN = resolve('scripts/zod-locales-en.mjs');
const XML2JS_LAZY = resolve('scripts/xml2js-lazy.cjs');

/**
 * Modules that dependencies require when loaded but use only on paths the daemon rarely or never takes:
 * `crypto` in dbus-next's handshake (DBUS_COOKIE_SHA1 only; the system bus uses EXTERNAL), `assert` in
 * dbus-next's variant marshalling and sonic-boom's fd check, pino's thread-stream (worker transports, which
 * also loads assert). Each `const x = require('m')` line is replaced by a stand-in that requires the module
 * on first call (crypto and assert not loaded at all: ~0.8 MiB of idle RSS, measured with bench/memory.ts).
 * `uses` rewrites the places a replaced binding is read, when the stand-in is a function.
 */
const LAZY_BUILTINS = [
  {
    file: /node_modules\/dbus-next\/lib\/handshake\.js$/,
    line: "const crypto = require('crypto');",
    lazy: "const crypto = { createHash: (...a) => require('crypto').createHash(...a), randomBytes: (...a) => require('crypto').randomBytes(...a) };",
  },
  {
    file: /node_modules\/dbus-next\/lib\/marshall\.js$/,
    line: "const assert = require('assert');",
    lazy: "const assert = Object.assign((...a) => require('assert')(...a), { strictEqual: (...a) => require('assert').strictEqual(...a) });",
  },
  {
    // pino's worker-thread transports (never used: the daemon logs to stdout) and the assert they load.
    file: /node_modules\/pino\/lib\/transport\.js$/,
    line: "const ThreadStream = require('thread-stream')",
    lazy: "const ThreadStream = function (...a) { return new (require('thread-stream'))(...a) }",
  },
  {
    file: /node_modules\/sonic-boom\/index\.js$/,
    line: "const assert = require('assert')",
    lazy: "const assert = (...a) => require('assert')(...a)",
  },
  {
    // pino asks worker_threads whether it runs on the main thread, only for an asynchronous destination
    // (to flush it at exit); src/log.ts gives it a synchronous one, so worker_threads (~0.4 MiB) is not loaded.
    file: /node_modules\/pino\/lib\/tools\.js$/,
    line: "const { isMainThread } = require('worker_threads')",
    lazy: "const isMainThreadNow = () => require('worker_threads').isMainThread",
    uses: [['if (!opts.sync && isMainThread) {', 'if (!opts.sync && isMainThreadNow()) {']],
  },
];

/** Redirects the two dependencies whose start-up work the daemon never needs (see each stand-in's header). */
const restAtRest = {
  name: 'rest-at-rest',
  setup(b) {
    // zod's every-locale index, imported relatively from inside zod: English only.
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (a) =>
      a.importer.includes('/node_modules/zod/') ? { path: ZOD_LOCALES_EN } : undefined,
    );
    // dbus-next's `require('xml2js')`: evaluated on first use only.
    b.onResolve({ filter: /^xml2js$/ }, (a) =>
      a.importer.includes('/node_modules/dbus-next/') ? { path: XML2JS_LAZY } : undefined,
    );
    // execa (the process runner's engine, loaded on the first child): its own file beside the bundle, so the
    // daemon's source and code cache, read at every start, do not carry ~200 kB that an idle start never runs.
    b.onResolve({ filter: /^execa$/ }, (a) =>
      a.importer.includes('/node_modules/') ? undefined : { path: `./${EXECA_CHUNK}`, external: true },
    );
    for (const { file, line, lazy, uses = [] } of LAZY_BUILTINS) {
      b.onLoad({ filter: file }, async (a) => {
        let text = await readFile(a.path, 'utf8');
        // A dependency update that changes a line fails the build rather than silently loading eagerly.
        for (const [from, to] of [[line, lazy], ...uses]) {
          if (!text.includes(from))
            throw new Error(`bundle: ${a.path} no longer has ${JSON.stringify(from)}`);
          text = text.replace(from, to);
        }
        return { contents: text, loader: 'js' };
      });
    }
  },
};

/** The file execa is bundled into, beside every bundle that runs children (see restAtRest). */
export const EXECA_CHUNK = 'bootc-storaged-execa.cjs';

/** esbuild options for execa's own file in `dir`: what a bundle's `require('./bootc-storaged-execa.cjs')` loads. */
export function execaChunkOptions(dir) {
  return {
    ...daemonBuildOptions(EXECA_CHUNK_ENTRY, `${dir}/${EXECA_CHUNK}`),
    plugins: [],
  };
}
const EXECA_CHUNK_ENTRY = resolve('scripts/execa-chunk.mjs');

/** esbuild options for one bundled entry of the daemon (or a part of it) written to `outfile`. */
export function daemonBuildOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs', // dbus-next and pino are CommonJS; a CJS bundle needs no require shims
    // An external map: an inline one is kept in memory as source text (+20 MB RSS, measured). Node reads the
    // .map file only when run with --enable-source-maps.
    sourcemap: 'linked',
    logLevel: 'warning',
    // Optional native/X11 pieces of dbus-next that a system daemon never loads (X11 session-bus discovery,
    // unix-fd passing): left out. koffi is shipped beside the bundle (scripts/bundle.mjs).
    external: ['x11', 'usocket', 'koffi'],
    plugins: [restAtRest],
    // Every import() becomes require(): the bundle then runs in scripts/daemon-loader.cjs's vm.Script, where
    // Node 20 has no dynamic import without an experimental flag. (Internal ones were inlined anyway; this
    // turns the external import('koffi') into require('koffi'), koffi's CommonJS entry.)
    supported: { 'dynamic-import': false },
    // Whitespace and syntax only: V8 keeps every script's source in memory (lazy compilation), so a smaller
    // source is less resident memory and less to scan at start. Identifiers are kept, so stack traces and
    // class names (error names) read as in the sources; the source map maps back to them.
    minifyWhitespace: true,
    minifySyntax: true,
  };
}

/**
 * Rewrites every non-ASCII character of a built file as a \uXXXX escape. esbuild keeps comments inside
 * expressions (an em dash in one), and a single non-ASCII character makes V8 hold the whole source, which
 * stays in memory for lazy compilation, as a two-byte string: 1.4 MB more at rest. The escapes are only in
 * comments, strings, templates and regular expressions, where they mean the same character (a source map's
 * columns shift on those few lines only).
 */
export function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (ascii !== text) writeFileSync(file, ascii);
}
