// The daemon's RSS and open fds over the soak as a hand-written SVG (no plotting dependency, as
// bench/plot-scale.ts): two panels sharing the time axis, one line per daemon process (a kill starts a new
// one), and a tick per injected fault, coloured by kind.

import type { FaultRecord } from './record.js';

export interface PlotSample {
  /** seconds since the start */
  t: number;
  pid: number;
  rssMiB: number;
  fds: number;
}

const W = 960;
const PANEL_H = 220;
const M = { left: 70, right: 200, top: 44, gap: 46, bottom: 50 };
const H = M.top + 2 * PANEL_H + M.gap + M.bottom;
const FAULT_COLORS: Record<string, string> = {
  'daemon-kill': '#d62728',
  'registry-restart': '#1f77b4',
  'registry-stall': '#9467bd',
  'disk-full': '#ff7f0e',
  'sysroot-lock': '#2ca02c',
};

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A round step giving about `n` ticks over [0, max]. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** Splits samples into runs of one process each. */
function byProcess(samples: readonly PlotSample[]): PlotSample[][] {
  const runs: PlotSample[][] = [];
  for (const s of samples) {
    const last = runs.at(-1);
    if (last && last[0]!.pid === s.pid) last.push(s);
    else runs.push([s]);
  }
  return runs;
}

export function renderSoakSvg(
  title: string,
  samples: readonly PlotSample[],
  faults: readonly FaultRecord[],
): string {
  const tMax = Math.max(1, ...samples.map((s) => s.t), ...faults.map((f) => f.at / 1000));
  const minutes = tMax > 180;
  const unit = minutes ? 60 : 1;
  const pw = W - M.left - M.right;
  const x = (t: number) => M.left + (t / tMax) * pw;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left + pw / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  const panels: [string, (s: PlotSample) => number, string][] = [
    ['RSS (MiB)', (s) => s.rssMiB, '#333'],
    ['open fds', (s) => s.fds, '#555'],
  ];
  for (const [i, [label, value, color]] of panels.entries()) {
    const top = M.top + i * (PANEL_H + M.gap);
    const yMax = Math.max(1, ...samples.map(value)) * 1.15;
    const y = (v: number) => top + PANEL_H - (v / yMax) * PANEL_H;
    const ys = niceStep(yMax, 5);
    for (let v = 0; v <= yMax; v += ys) {
      out.push(
        `<line x1="${M.left}" y1="${y(v).toFixed(1)}" x2="${M.left + pw}" y2="${y(v).toFixed(1)}" stroke="#e4e4e4"/>`,
      );
      out.push(
        `<text x="${M.left - 6}" y="${y(v).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${v}</text>`,
      );
    }
    const xs = niceStep(tMax / unit, 10);
    for (let v = 0; v * unit <= tMax; v += xs) {
      const px = x(v * unit).toFixed(1);
      out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${top + PANEL_H}" stroke="#f0f0f0"/>`);
      out.push(`<text x="${px}" y="${top + PANEL_H + 15}" text-anchor="middle">${v}</text>`);
    }
    for (const f of faults) {
      const px = x(f.at / 1000).toFixed(1);
      const c = FAULT_COLORS[f.kind] ?? '#999';
      out.push(
        `<line x1="${px}" y1="${top}" x2="${px}" y2="${top + PANEL_H}" stroke="${c}" stroke-opacity="0.45" stroke-dasharray="3 3"/>`,
      );
    }
    for (const run of byProcess(samples)) {
      const pts = run.map((s) => `${x(s.t).toFixed(1)},${y(value(s)).toFixed(1)}`).join(' ');
      if (run.length > 1)
        out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
      else
        out.push(
          `<circle cx="${x(run[0]!.t).toFixed(1)}" cy="${y(value(run[0]!)).toFixed(1)}" r="2" fill="${color}"/>`,
        );
    }
    out.push(`<rect x="${M.left}" y="${top}" width="${pw}" height="${PANEL_H}" fill="none" stroke="#333"/>`);
    out.push(
      `<text transform="translate(18 ${top + PANEL_H / 2}) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`,
    );
  }
  out.push(
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">time since the soak started (${minutes ? 'minutes' : 'seconds'}); a new line is a restarted daemon</text>`,
  );
  const lx = M.left + pw + 16;
  out.push(`<text x="${lx}" y="${M.top + 4}" font-weight="bold">faults</text>`);
  for (const [i, [kind, c]] of Object.entries(FAULT_COLORS).entries()) {
    const ly = M.top + 24 + i * 20;
    const n = faults.filter((f) => f.kind === kind).length;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${c}" stroke-width="2" stroke-dasharray="3 3"/>`,
    );
    out.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${escapeXml(kind)} (${n})</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
