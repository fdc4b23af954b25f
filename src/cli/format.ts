// Text formatting for people: sizes, rates, ages, durations, short ids and aligned tables.

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Decimal (SI) size as podman prints it: "512 B", "12.3 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  // 999.95 kB would print as "1000.0 kB": step up instead.
  if (value >= 999.95 && unit < SIZE_UNITS.length - 1) return `1.0 ${SIZE_UNITS[unit + 1]}`;
  return `${value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

/** A transfer rate: "1.2 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A short duration: "45s", "3m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** How long ago a Unix time was, in the style of `podman images`: "3 minutes ago". */
export function formatAge(epochSeconds: number, nowMs = Date.now()): string {
  const secs = Math.floor(nowMs / 1000 - epochSeconds);
  if (secs < 0) return 'in the future';
  if (secs < 60) return secs <= 1 ? 'just now' : `${secs} seconds ago`;
  const units: [number, string][] = [
    [365 * 24 * 3600, 'year'],
    [30 * 24 * 3600, 'month'],
    [7 * 24 * 3600, 'week'],
    [24 * 3600, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(secs / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'} ago`;
  }
  return `${secs} seconds ago`;
}

/** The 12-character short form of an image ID (without "sha256:"). */
export function shortenId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** "45%" from a 0–1 fraction; "-" when unknown (negative). */
export function formatPercent(fraction: number): string {
  if (!(fraction >= 0)) return '-';
  return `${Math.floor(Math.min(1, fraction) * 100)}%`;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
