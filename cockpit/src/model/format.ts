// Numbers and names formatted for display: sizes, ages, short deployment names and image IDs.

/** Bytes in decimal units, as Cockpit shows sizes: `1.5 MB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = n;
  let unit = 'B';
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/** How long ago `seconds` (since the epoch) was, relative to `now` (ms): `3 days ago`. */
export function formatAge(seconds: number, now: number): string {
  if (!seconds) return '';
  const diff = Math.round(now / 1000 - seconds);
  if (diff < 60) return 'just now';
  const steps: [number, string][] = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
    [86400 * 30, 'month'],
    [86400 * 365, 'year'],
  ];
  let chosen = steps[0]!;
  for (const step of steps) if (diff >= step[0]) chosen = step;
  const count = Math.floor(diff / chosen[0]);
  return `${count} ${chosen[1]}${count === 1 ? '' : 's'} ago`;
}

/** `<checksum>.<serial>` shortened for display: the first 12 hex digits and the serial. */
export function shortDeployment(deployment: string): string {
  const m = /^([0-9a-f]{12})[0-9a-f]{52}(?:\.(\d+))?$/.exec(deployment);
  return m ? `${m[1]}${m[2] === undefined ? '' : `.${m[2]}`}` : deployment;
}

/** An image ID (64 hex) as podman shows it: its first 12 digits. */
export const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** A count with its noun: `1 image`, `3 images`. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
