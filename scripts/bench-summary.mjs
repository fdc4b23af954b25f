// Renders the targets every benchmark recorded (bench/targets.ts: one JSON line each) as one markdown table,
// so `make bench` ends with every verdict of the run in one place and docs/benchmarks.md opens with it.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const lines = file ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
const rows = lines.map((l) => JSON.parse(l));
const cell = (s) => String(s).replaceAll('|', '\\|');
const out = ['## Targets of this run', ''];
if (rows.length === 0) {
  out.push('_No benchmark recorded a target in this run._');
} else {
  const met = rows.filter((r) => r.met).length;
  out.push(
    `Every figure below is judged in its section (linked by benchmark); ${met} of ${rows.length} targets met.`,
    '',
    '| benchmark | area | measure | value | target | verdict |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const r of rows) {
    const verdict = (r.met ? 'met' : '**MISSED**') + (r.remark ? ` (${r.remark})` : '');
    out.push(
      `| bench/${cell(r.bench)}.ts${r.platform ? ` (${cell(r.platform)})` : ''} | ${cell(r.area)} | ${cell(r.measure)} | ${cell(r.value)} | ${cell(r.target)} | ${cell(verdict)} |`,
    );
  }
}
process.stdout.write(`${out.join('\n')}\n\n`);
