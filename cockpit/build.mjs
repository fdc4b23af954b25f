// Builds the Cockpit page package: manifest.json, index.html, and index.js + index.css (+ fonts/) bundled by
// esbuild from cockpit/src (TypeScript, PatternFly 6's CSS and fonts, PatternFly icons as text). The output directory is what goes to
// /usr/share/cockpit/bootc-storage/ (scripts/install.sh); cockpit.js itself comes from the system's Cockpit
// (../base1/cockpit.js), never bundled.
//
//   node cockpit/build.mjs [OUTDIR]      (default dist/cockpit/bootc-storage)
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, '../dist/cockpit/bootc-storage'));

/**
 * PatternFly's base brings its fonts (Red Hat Text, Display and Mono, which the page ships as PatternFly has
 * them, 230 kB), icon fonts (Font Awesome, pficon: dropped, the page draws its few icons as inline SVG) and
 * the glass/felt themes' background images (dropped: unused).
 */
const patternflyBase = {
  name: 'patternfly-base-trimmed',
  setup(b) {
    b.onLoad({ filter: /@patternfly[\\/]patternfly[\\/]patternfly-base\.css$/ }, (args) => {
      const css = readFileSync(args.path, 'utf8')
        .replace(/@font-face\s*\{[^}]*\}/g, (rule) => (/font-family:\s*"Red Hat/.test(rule) ? rule : ''))
        .replace(/url\("\.\/assets\/images\/[^"]+"\)/g, 'none');
      const urls = css.match(/url\([^)]*\)/g) ?? [];
      const unexpected = urls.filter((u) => !u.startsWith('url("./assets/fonts/RedHat'));
      if (unexpected.length) throw new Error(`patternfly-base.css references ${unexpected.join(', ')}`);
      return { contents: css, loader: 'css', resolveDir: dirname(args.path) };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: { index: join(here, 'src/index.ts') },
  outdir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'none',
  loader: { '.svg': 'text', '.woff2': 'file' },
  assetNames: 'fonts/[name]',
  plugins: [patternflyBase],
  logLevel: 'warning',
});
for (const file of ['manifest.json', 'index.html']) copyFileSync(join(here, file), join(outdir, file));
