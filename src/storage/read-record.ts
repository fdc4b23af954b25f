// What a computation over the sysroot read, so its answer can be kept until any of it changes: the readers
// (read-small-file.ts, resolve-inside.ts, the directory listings in gc/) note every path they look at, and
// `ReadCache` keeps a value with the lstat of each noted path (inode, size, change and modification times in
// nanoseconds, or its absence). Checking costs one lstat per path; recomputing costs reading and parsing every
// deployment's files. Anyone may call ListDeployments, ListBoundImages and PreviewGarbageCollect, so a flood of
// them must cost no more than those stats.

import { lstatSync } from 'node:fs';

/** While a ReadCache computes: each path noted, with its stamp from just before it was read. */
let noted: Map<string, string> | undefined;

/**
 * Notes that a reader is about to look at `path` (a file read, a directory listed, a link followed, or its
 * absence). Call it before reading: a change made after the stamp shows as a change next time.
 */
export function noteRead(path: string): void {
  if (noted && !noted.has(path)) noted.set(path, stampOf(path));
}

/** What one path looks like now: enough to tell any write, rename, replacement or removal since. */
function stampOf(path: string): string {
  try {
    const st = lstatSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** One computation's last answer (or error), kept while nothing it read has changed. */
export class ReadCache<T> {
  private last: { paths: string[]; stamps: string[]; outcome: Outcome<T> } | undefined;
  /** Computations run, and answers given from the cache (for tests and the benchmark). */
  readonly counts = { computed: 0, cached: 0 };

  /** `compute()`'s answer as of now: the kept one while every path it read looks the same. */
  read(compute: () => T): T {
    const last = this.last;
    if (last?.paths.every((p, i) => stampOf(p) === last.stamps[i])) {
      this.counts.cached += 1;
      return settle(last.outcome);
    }
    const outer = noted;
    const paths = new Map<string, string>();
    noted = paths;
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: compute() };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      noted = outer;
      if (outer) for (const [p, stamp] of paths) if (!outer.has(p)) outer.set(p, stamp);
    }
    this.counts.computed += 1;
    // An answer that read nothing cannot be checked, so it is never kept.
    this.last =
      paths.size > 0 ? { paths: [...paths.keys()], stamps: [...paths.values()], outcome } : undefined;
    return settle(outcome);
  }
}

function settle<T>(o: Outcome<T>): T {
  if (o.ok) return o.value;
  throw o.error;
}
