// Builds the Cockpit page package: manifest.json, index.html, and index.js + index.css (+ fonts/) bundled by
// esbuild from cockpit/src (TypeScript and React, PatternFly 6's React components, and PatternFly's base CSS,
// fonts and the CSS of the components the page uses). The output directory is what goes to
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
 * them, 230 kB), icon fonts (Font Awesome, pficon: dropped, the page's icons are PatternFly's React icons, inline
 * SVG) and the glass/felt themes' background images (dropped: unused).
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

/**
 * PatternFly's React components import their CSS themselves (@patternfly/react-styles/css/…/x.mjs imports
 * x.css), and esbuild keeps the CSS of every module the components can reach, rendered or not (1.8 MB: every
 * component PatternFly has). The page imports the CSS of the components it renders itself (src/page.css, the
 * same files from @patternfly/patternfly); this drops the automatic imports.
 */
const reactStylesWithoutCss = {
  name: 'react-styles-without-css',
  setup(b) {
    b.onLoad({ filter: /@patternfly[\\/]react-styles[\\/]css[\\/].*\.mjs$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/^import '\.\/[^']+\.css';$/gm, ''),
      loader: 'js',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: { index: join(here, 'src/index.tsx') },
  outdir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'none',
  jsx: 'automatic',
  // React's and PatternFly's production code: no development checks or warnings.
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.woff2': 'file' },
  assetNames: 'fonts/[name]',
  plugins: [patternflyBase, reactStylesWithoutCss],
  logLevel: 'warning',
});
for (const file of ['manifest.json', 'index.html']) copyFileSync(join(here, file), join(outdir, file));
