// The scale benchmark's own pieces that need no podman: the plot, the growth table and the archive writer.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeImageArchive } from '../../bench/image-archive.js';
import { renderScaleSvg } from '../../bench/plot-scale.js';
import { formatGrowthTable, makePlotSeries, type ScaleRow } from '../../bench/scale-report.js';

const st = (ms: number) => ({ n: 1, median: ms, min: ms, max: ms });
const rows: ScaleRow[] = [
  { size: 100, op: 'List', daemon: st(2), raw: st(800), rawHow: 'list' },
  { size: 1000, op: 'List', daemon: st(10), raw: st(16000), rawHow: 'list' },
  { size: 100, op: 'Prune', daemon: st(2000), raw: st(9000), rawHow: 'rm', daemonShared: true },
];

describe('scale benchmark report', () => {
  it('draws one solid and one dashed line per operation, none for a shared daemon figure', () => {
    const series = makePlotSeries(rows);
    expect(series.map((s) => `${s.label}:${s.dashed}`)).toEqual(['List:false', 'List:true', 'Prune:true']);
    const svg = renderScaleSvg('t', series);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('1,000');
  });

  it('prints the per-image cost and the growth factor between sizes', () => {
    const t = formatGrowthTable(rows);
    expect(t).toContain('growth 100→1,000');
    expect(t).toMatch(
      /\| List \| raw podman \| 800 ms \(8\.00 ms\/image\) \| 16\.00 s \(16\.0 ms\/image\) \| 20\.0× \|/,
    );
  });

  it('writes a docker-archive tar with a layer and a config per image and one manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-archive-'));
    try {
      const path = join(dir, 'a.tar');
      writeImageArchive(path, ['localhost/x:a', 'localhost/x:b']);
      const entries = execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n');
      expect(entries.filter((e) => e.endsWith('/layer.tar'))).toHaveLength(2);
      expect(entries.filter((e) => e.endsWith('.json') && e !== 'manifest.json')).toHaveLength(2);
      const manifest = execFileSync('tar', ['-xOf', path, 'manifest.json'], { encoding: 'utf8' });
      expect((JSON.parse(manifest) as { RepoTags: string[] }[]).map((m) => m.RepoTags[0])).toEqual([
        'localhost/x:a',
        'localhost/x:b',
      ]);
      expect(readFileSync(path).length % 512).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
