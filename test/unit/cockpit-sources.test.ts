// The Cockpit page's sources (cockpit/src) kept to their shape: small single-purpose kebab-case files (none over
// 400 lines, each opening with a comment that says why it exists, each exported function with its own), cockpit.js
// reached only through storage.ts (the D-Bus client, the one way to the daemon) and gettext.ts (translations), no
// inline style (Cockpit's Content-Security-Policy forbids style attributes), and the model free of React, the
// DOM and cockpit.js (test/browser/page-model.test.ts runs it under Node).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../../cockpit/src');
const MAX_LINES = 400;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const files = walk(ROOT).map((path) => ({ name: relative(ROOT, path), text: readFileSync(path, 'utf8') }));
const code = files.filter((f) => /\.tsx?$/.test(f.name) && !f.name.endsWith('.d.ts'));
/** A source without its comments (which name cockpit.js and the DOM freely). */
const withoutComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

describe('the Cockpit page sources', () => {
  it('are small kebab-case files', () => {
    expect(files.length).toBeGreaterThan(10);
    const long = files.filter((f) => f.text.split('\n').length > MAX_LINES).map((f) => f.name);
    expect(long).toEqual([]);
    const badNames = files
      .map((f) => f.name.split('/').at(-1)!)
      .filter((n) => !/^[a-z0-9]+(-[a-z0-9]+)*(\.d)?\.(ts|tsx|css)$/.test(n));
    expect(badNames).toEqual([]);
  });

  it('open with a comment that says why they exist, and so does every exported function', () => {
    expect(files.filter((f) => !/^(\/\/|\/\*)/.test(f.text)).map((f) => f.name)).toEqual([]);
    const undocumented: string[] = [];
    for (const f of code) {
      const lines = f.text.split('\n');
      lines.forEach((line, i) => {
        const exported =
          /^export (async )?function (\w+)|^export const (\w+) = (memo\()?(function|\(|async)/.exec(line);
        if (exported && !/\*\/\s*$/.test(lines[i - 1] ?? '')) {
          undocumented.push(`${f.name}: ${exported[2] ?? exported[3]}`);
        }
      });
    }
    expect(undocumented).toEqual([]);
  });

  it('reach cockpit.js only through storage.ts and gettext.ts', () => {
    const callers = code.filter((f) => /\bcockpit\.\w+\(/.test(withoutComments(f.text))).map((f) => f.name);
    expect(callers.sort()).toEqual(['gettext.ts', 'storage.ts']);
  });

  it('set no inline style', () => {
    expect(
      code.filter((f) => /\bstyle=|\.style\b|setAttribute\('style'/.test(f.text)).map((f) => f.name),
    ).toEqual([]);
  });

  it('keep the model plain data: no React, no DOM, no cockpit.js', () => {
    const model = code.filter((f) => f.name === 'model.ts' || f.name.startsWith('model/'));
    expect(model.length).toBeGreaterThan(1);
    const impure = model.filter((f) =>
      /from '(react|react-dom|@patternfly\/[\w-]+)[/']|from '\.\.?\/(components|hooks|storage)|\b(document|window|cockpit)\./.test(
        withoutComments(f.text),
      ),
    );
    expect(impure.map((f) => f.name)).toEqual([]);
  });
});
