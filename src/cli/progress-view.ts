// Shows a job's progress: a live one-line bar on a terminal, or plain "pull: 45% 1.2 MB/2.7 MB" lines
// (at most two a second) when the output is a pipe or a file.

import { formatBytes, formatDuration, formatPercent, formatRate } from './format.js';

export interface ProgressSnapshot {
  /** "waiting" until the job is known, then the job's State. */
  state: string;
  jobId?: number;
  /** 0–1, or -1 while unknown. */
  progress: number;
  bytesDone: number;
  bytesTotal: number;
  layersDone?: number;
  layersTotal?: number;
  /** Which try of the pull; shown from the second on ("retry 2"). */
  attempt?: number;
  /** For a job of several images (sync): "image 2/5". */
  itemsDone?: number;
  itemsTotal?: number;
}

export interface ProgressView {
  update(snapshot: ProgressSnapshot): void;
  /** Draws the last state (full when `completed`) and ends the line; the view is inert afterwards. */
  finish(completed: boolean): void;
}

interface Output {
  write(text: string): unknown;
  columns?: number;
}

const TTY_REDRAW_MS = 100;
const PLAIN_MIN_INTERVAL_MS = 500;
const RATE_WINDOW_MS = 5_000;
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const CLEAR_LINE = '\r\x1b[2K';
/** Width reserved after the bar: "45%  999.9 MB/999.9 MB  999.9 kB/s  ETA 59m59s". */
// Room for "100%  123.4 MB/456.7 MB  layer 12/12  123.4 MB/s  ETA 1h2m" so the bar never jumps.
const RIGHT_WIDTH = 60;
const MIN_BAR = 12;
const MAX_BAR = 50;

/** Bytes per second over the last few seconds of samples. */
export function createRateMeter(now: () => number = Date.now) {
  const samples: { t: number; bytes: number }[] = [];
  return {
    add(bytes: number) {
      const t = now();
      samples.push({ t, bytes });
      while (samples.length > 2 && t - samples[0]!.t > RATE_WINDOW_MS) samples.shift();
    },
    /** undefined until there is at least half a second of history. */
    rate(): number | undefined {
      const first = samples[0];
      const last = samples.at(-1);
      if (!first || !last) return undefined;
      const dt = (now() - first.t) / 1000;
      if (dt < 0.5) return undefined;
      return Math.max(0, (last.bytes - first.bytes) / dt);
    },
  };
}

/** The numbers after the bar: "45%  1.2 MB/2.7 MB  812 kB/s  ETA 2s". */
function describeAmount(s: ProgressSnapshot, rate: number | undefined): string[] {
  const parts: string[] = [];
  if (s.progress >= 0) parts.push(formatPercent(s.progress));
  if ((s.itemsTotal ?? 0) > 0)
    parts.push(`image ${Math.min((s.itemsDone ?? 0) + 1, s.itemsTotal!)}/${s.itemsTotal}`);
  if ((s.attempt ?? 1) > 1) parts.push(`try ${s.attempt}`);
  if (s.bytesTotal > 0) parts.push(`${formatBytes(s.bytesDone)}/${formatBytes(s.bytesTotal)}`);
  else if (s.bytesDone > 0) parts.push(formatBytes(s.bytesDone));
  const layersDone = s.layersDone ?? 0;
  const layersTotal = s.layersTotal ?? 0;
  if (layersTotal > 0) parts.push(`layer ${Math.min(Math.max(layersDone, 1), layersTotal)}/${layersTotal}`);
  else if (layersDone > 0) parts.push(`layer ${layersDone}`);
  if (rate !== undefined && s.state === 'running' && s.bytesDone > 0) {
    parts.push(formatRate(rate));
    if (s.bytesTotal > s.bytesDone && rate > 0)
      parts.push(`ETA ${formatDuration((s.bytesTotal - s.bytesDone) / rate)}`);
  }
  return parts;
}

/** A bar of `width` cells: "[=====>     ]", or a bouncing "[   <=>    ]" while the fraction is unknown. */
export function drawBar(fraction: number, width: number, tick: number): string {
  const inner = Math.max(3, width - 2);
  if (fraction < 0) {
    const span = inner - 3;
    const pos = span <= 0 ? 0 : Math.abs((tick % (2 * span)) - span);
    return `[${' '.repeat(span - pos)}<=>${' '.repeat(pos)}]`;
  }
  // Rounded down: the bar is only full at 100%.
  const filled = Math.floor(Math.min(1, fraction) * inner);
  if (filled >= inner) return `[${'='.repeat(inner)}]`;
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(inner - filled)}]`;
}

export function createProgressView(opts: {
  /** The line printed above a terminal's bar ("Pulling quay.io/x:1"). */
  title: string;
  /** Prefix of plain lines ("pull"). */
  verb: string;
  out: Output;
  tty: boolean;
  now?: () => number;
}): ProgressView {
  const now = opts.now ?? Date.now;
  const meter = createRateMeter(now);
  let last: ProgressSnapshot = { state: 'waiting', progress: -1, bytesDone: 0, bytesTotal: 0 };
  let finished = false;
  let tick = 0;

  if (opts.tty) {
    opts.out.write(`${opts.title}\n${HIDE_CURSOR}`);
    const restore = () => {
      if (!finished) opts.out.write(SHOW_CURSOR);
    };
    process.once('exit', restore);
    const timer = setInterval(() => {
      tick += 1;
      drawTty();
    }, TTY_REDRAW_MS);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      process.removeListener('exit', restore);
    };
    return {
      update(s) {
        if (finished) return;
        last = s;
        meter.add(s.bytesDone);
      },
      finish(completed) {
        if (finished) return;
        const transferred = last.bytesDone > 0 || last.progress >= 0;
        if (completed) last = completeSnapshot(last);
        // A bar that never showed any progress says nothing worth keeping: erase it.
        if (completed || transferred) {
          drawTty();
          opts.out.write('\n');
        } else {
          opts.out.write(CLEAR_LINE);
        }
        finished = true;
        stop();
        opts.out.write(SHOW_CURSOR);
      },
    };
  }

  let lastLine = '';
  let lastLineAt = 0;
  let lastState = '';
  return {
    update(s) {
      if (finished) return;
      last = s;
      meter.add(s.bytesDone);
      const stateChanged = s.state !== lastState;
      lastState = s.state;
      if (stateChanged) {
        if (s.state === 'queued' || s.state === 'running' || s.state === 'blocked') {
          writePlain(`${s.state}${s.jobId === undefined ? '' : ` (job ${s.jobId})`}`, true);
        }
        return;
      }
      if (s.state !== 'running') return;
      const amount = describeAmount(s, meter.rate()).join(' ');
      if (amount !== '') writePlain(amount, false);
    },
    finish(completed) {
      if (finished) return;
      finished = true;
      if (completed && (last.bytesTotal > 0 || last.progress >= 0)) {
        const done = completeSnapshot(last);
        writePlain(describeAmount({ ...done, state: 'done' }, undefined).join(' '), true);
      }
    },
  };

  function writePlain(text: string, force: boolean) {
    const t = now();
    const line = `${opts.verb}: ${text}`;
    if (line === lastLine) return;
    if (!force && t - lastLineAt < PLAIN_MIN_INTERVAL_MS) return;
    lastLine = line;
    lastLineAt = t;
    opts.out.write(`${line}\n`);
  }

  function drawTty() {
    if (finished) return;
    const columns = opts.out.columns && opts.out.columns > 20 ? opts.out.columns : 80;
    const budget = columns - 1;
    const s = last;
    let fraction = s.progress;
    let right: string;
    if (s.state === 'waiting') {
      right = 'waiting for bootc-storaged';
      fraction = -1;
    } else if (s.state === 'blocked') {
      right = 'waiting for the ostree sysroot lock (bootc is deploying)';
      fraction = -1;
    } else if (s.state === 'queued') {
      right = `queued (job ${s.jobId ?? '?'})`;
      fraction = -1;
    } else {
      const parts = describeAmount(s, meter.rate());
      // Narrow terminals lose the ETA first, then the rate.
      while (parts.length > 2 && parts.join('  ').length > budget - MIN_BAR) parts.pop();
      right = parts.length > 0 ? parts.join('  ') : `starting (job ${s.jobId ?? '?'})`;
      if (fraction < 0 && s.bytesTotal > 0) fraction = s.bytesDone / s.bytesTotal;
    }
    // The numbers get a fixed width so that the bar does not jump as they change.
    right = right.padEnd(RIGHT_WIDTH);
    const barWidth = Math.max(MIN_BAR, Math.min(MAX_BAR, budget - right.length - 1));
    const line = `${drawBar(fraction, barWidth, tick)} ${right}`.trimEnd();
    opts.out.write(`${CLEAR_LINE}${line.slice(0, budget)}`);
  }
}

function completeSnapshot(s: ProgressSnapshot): ProgressSnapshot {
  const total = Math.max(s.bytesTotal, s.bytesDone);
  return { ...s, state: 'done', progress: 1, bytesDone: total, bytesTotal: total };
}
