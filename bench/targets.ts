// Every benchmark's targets in one place: a bench records each ratio it judges against a target, and
// bench/run.sh prints them all as one table at the end of the run (and at the top of docs/benchmarks.md), so a
// reader sees every verdict of one run without reading each section.

import { appendFileSync } from 'node:fs';

/** One judged figure: what was measured, its value, the target and whether the value meets it. */
export interface TargetVerdict {
  /** The issue item or area (e.g. "writes", "reads", "memory", "scale"). */
  area: string;
  measure: string;
  value: string;
  target: string;
  met: boolean;
  /** Said after the verdict, e.g. "within noise". */
  remark?: string;
}

/** Records a verdict for run.sh's summary (a JSON line in $BENCH_TARGETS); returns the cell text for the bench's own table. */
export function recordTarget(v: TargetVerdict): string {
  const file = process.env.BENCH_TARGETS;
  // BENCH_PLATFORM names the platform when a bench runs inside a booted generation (bench/debian13.ts).
  const platform = process.env.BENCH_PLATFORM || undefined;
  if (file) appendFileSync(file, `${JSON.stringify({ bench: benchName(), platform, ...v })}\n`);
  return verdictText(v);
}

/** "met" / "MISSED", with the remark if any: what a bench's table prints in its target column. */
export function verdictText(v: Pick<TargetVerdict, 'met' | 'remark'>): string {
  const word = v.met ? 'met' : 'MISSED';
  return v.remark ? `${word} (${v.remark})` : word;
}

/** The running bench's name, from its bundle file (.cache/bench/<name>.cjs). */
function benchName(): string {
  const script = process.argv[1] ?? '';
  return (
    script
      .split('/')
      .pop()
      ?.replace(/\.(c?js|ts)$/, '') ?? 'bench'
  );
}
