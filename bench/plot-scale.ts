// The scale curve as a hand-written SVG (no plotting dependency): log-log axes, images in the store against
// time per operation, one colour per operation, the daemon solid and raw podman dashed.

/** One line of the plot: points are [images in the store, milliseconds]; lines of one colour share a label. */
export interface PlotSeries {
  /** The operation (the legend shows one row per colour). */
  label: string;
  color: string;
  dashed: boolean;
  points: [number, number][];
}

const W = 880;
const H = 560;
const M = { left: 92, right: 290, top: 40, bottom: 56 };

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Decade bounds [10^lo, 10^hi] that hold every value. */
function decadeRange(values: number[]): [number, number] {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  return [lo, hi === lo ? lo + 1 : hi];
}

function formatTick(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toLocaleString('en-US')} s`;
  return ms >= 1 ? `${ms} ms` : `${ms * 1000} µs`;
}

/** Renders the series as a standalone SVG document (log-log, with a legend on the right). */
export function renderScaleSvg(title: string, series: readonly PlotSeries[]): string {
  const pts = series.flatMap((s) => s.points).filter(([n, ms]) => n > 0 && ms > 0);
  if (pts.length === 0) throw new Error('nothing to plot');
  const [xlo, xhi] = decadeRange(pts.map(([n]) => n));
  const [ylo, yhi] = decadeRange(pts.map(([, ms]) => ms));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (n: number) => M.left + ((Math.log10(n) - xlo) / (xhi - xlo)) * pw;
  const y = (ms: number) => M.top + ph - ((Math.log10(ms) - ylo) / (yhi - ylo)) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left + pw / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let d = xlo; d <= xhi; d++) {
    const px = x(10 ** d).toFixed(1);
    out.push(`<line x1="${px}" y1="${M.top}" x2="${px}" y2="${M.top + ph}" stroke="#ddd"/>`);
    out.push(
      `<text x="${px}" y="${M.top + ph + 18}" text-anchor="middle">${(10 ** d).toLocaleString('en-US')}</text>`,
    );
  }
  for (let d = ylo; d <= yhi; d++) {
    const py = y(10 ** d).toFixed(1);
    out.push(`<line x1="${M.left}" y1="${py}" x2="${M.left + pw}" y2="${py}" stroke="#ddd"/>`);
    out.push(
      `<text x="${M.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${formatTick(10 ** d)}</text>`,
    );
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">images in the store (log)</text>`,
  );
  out.push(
    `<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">time per operation (log)</text>`,
  );
  for (const s of series) {
    const p = s.points.filter(([n, ms]) => n > 0 && ms > 0);
    const dash = s.dashed ? ' stroke-dasharray="7 4"' : '';
    if (p.length > 1) {
      const d = p.map(([n, ms]) => `${x(n).toFixed(1)},${y(ms).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2.2"${dash}/>`);
    }
    for (const [n, ms] of p) {
      const shape = s.dashed
        ? `<rect x="${(x(n) - 3.5).toFixed(1)}" y="${(y(ms) - 3.5).toFixed(1)}" width="7" height="7" fill="white" stroke="${s.color}" stroke-width="1.8"/>`
        : `<circle cx="${x(n).toFixed(1)}" cy="${y(ms).toFixed(1)}" r="3.5" fill="${s.color}"/>`;
      out.push(shape);
    }
  }
  // Legend: one row per operation (colour), then what solid and dashed mean.
  const groups = [...new Map(series.map((s) => [s.color, s.label])).entries()];
  const lx = M.left + pw + 16;
  for (const [i, [color, label]] of groups.entries()) {
    const ly = M.top + 10 + i * 22;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 30}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 38}" y="${ly}" dominant-baseline="middle">${escapeXml(label)}</text>`);
  }
  const ky = M.top + 26 + groups.length * 22;
  out.push(`<line x1="${lx}" y1="${ky}" x2="${lx + 30}" y2="${ky}" stroke="#333" stroke-width="2.2"/>`);
  out.push(`<circle cx="${lx + 15}" cy="${ky}" r="3.5" fill="#333"/>`);
  out.push(`<text x="${lx + 38}" y="${ky}" dominant-baseline="middle">daemon</text>`);
  out.push(
    `<line x1="${lx}" y1="${ky + 22}" x2="${lx + 30}" y2="${ky + 22}" stroke="#333" stroke-width="2.2" stroke-dasharray="7 4"/>`,
  );
  out.push(
    `<rect x="${lx + 11.5}" y="${ky + 18.5}" width="7" height="7" fill="white" stroke="#333" stroke-width="1.8"/>`,
  );
  out.push(`<text x="${lx + 38}" y="${ky + 22}" dominant-baseline="middle">raw podman</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
