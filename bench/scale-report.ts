// The scale benchmark's output: the per-size table, how each operation's cost grows with the store, and the
// SVG plot of it (bench/plot-scale.ts).

import { fmtMs, fmtRatio, fmtStats, type Stats, table } from './lib.js';
import type { PlotSeries } from './plot-scale.js';

/** One operation measured at one store size, daemon and raw podman. */
export interface ScaleRow {
  size: number;
  op: string;
  daemon: Stats;
  /** Undefined: raw podman was not run at this size (rawHow says why). */
  raw: Stats | undefined;
  /** What raw podman ran for this row. */
  rawHow: string;
  /** The daemon figure is another row's (same call, another raw comparison): not drawn twice. */
  daemonShared?: boolean;
}

/** A ratio; below 0.1 with two significant digits, so a daemon 100× slower does not print as 0.00×. */
function fmtScaleRatio(r: number): string {
  return r < 0.1 ? `${r.toPrecision(2)}×` : fmtRatio(r);
}

/** Milliseconds per image, in µs when small. */
function fmtPerImage(ms: number): string {
  return ms < 0.1 ? `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} µs` : fmtMs(ms);
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

function fmtSize(n: number): string {
  return n.toLocaleString('en-US');
}

/** The main table: size, operation, daemon median (min–max), raw median, raw/daemon. */
export function formatScaleTable(rows: readonly ScaleRow[]): string {
  return table(
    [
      'images',
      'operation',
      'daemon median (min–max)',
      'raw podman median (min–max)',
      'raw podman ran',
      'raw / daemon',
    ],
    rows.map((r) => [
      fmtSize(r.size),
      r.op,
      `${fmtStats(r.daemon)} (n=${r.daemon.n})`,
      r.raw ? `${fmtStats(r.raw)} (n=${r.raw.n})` : 'not run',
      r.rawHow,
      r.raw ? fmtScaleRatio(r.raw.median / r.daemon.median) : '—',
    ]),
  );
}

function operations(rows: readonly ScaleRow[]): string[] {
  return [...new Set(rows.map((r) => r.op))];
}

/** Per operation and side: the median at each size, per image in the store, and the growth factor between sizes. */
export function formatGrowthTable(rows: readonly ScaleRow[]): string {
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const out: string[][] = [];
  for (const op of operations(rows)) {
    for (const side of ['daemon', 'raw'] as const) {
      const at = (n: number) => rows.find((r) => r.op === op && r.size === n)?.[side]?.median;
      const cells = sizes.map((n) => {
        const ms = at(n);
        return ms === undefined ? '–' : `${fmtMs(ms)} (${fmtPerImage(ms / n)}/image)`;
      });
      const growth = sizes.slice(1).map((n, i) => {
        const a = at(sizes[i]!);
        const b = at(n);
        return a === undefined || b === undefined ? '–' : `${(b / a).toFixed(1)}×`;
      });
      out.push([op, side === 'daemon' ? 'daemon' : 'raw podman', ...cells, ...growth]);
    }
  }
  const growthHeads = sizes.slice(1).map((n, i) => `growth ${fmtSize(sizes[i]!)}→${fmtSize(n)}`);
  return table(['operation', 'side', ...sizes.map((n) => `${fmtSize(n)} images`), ...growthHeads], out);
}

/** The plot's lines: one colour per operation, daemon solid, raw podman dashed. */
export function makePlotSeries(rows: readonly ScaleRow[]): PlotSeries[] {
  return operations(rows).flatMap((op, i) => {
    const color = COLORS[i % COLORS.length]!;
    const mine = rows.filter((r) => r.op === op).sort((a, b) => a.size - b.size);
    const raw: PlotSeries = {
      label: op,
      color,
      dashed: true,
      points: mine.flatMap((r): [number, number][] => (r.raw ? [[r.size, r.raw.median]] : [])),
    };
    if (mine.some((r) => r.daemonShared)) return [raw];
    return [{ label: op, color, dashed: false, points: mine.map((r) => [r.size, r.daemon.median]) }, raw];
  });
}

/** A small text rendering: per operation, log10(ms) of daemon (D) and raw (R) as bars, one line per size. */
export function formatTextPlot(rows: readonly ScaleRow[]): string {
  const lines: string[] = [];
  const bar = (ms: number) => '#'.repeat(Math.max(1, Math.round((Math.log10(ms) + 1) * 6)));
  for (const op of operations(rows)) {
    lines.push(op);
    for (const r of rows.filter((x) => x.op === op).sort((a, b) => a.size - b.size)) {
      lines.push(`  ${fmtSize(r.size).padStart(6)} D ${bar(r.daemon.median)} ${fmtMs(r.daemon.median)}`);
      if (r.raw) lines.push(`  ${''.padStart(6)} R ${bar(r.raw.median)} ${fmtMs(r.raw.median)}`);
    }
  }
  return lines.join('\n');
}
