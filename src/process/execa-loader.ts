// execa is loaded on the first child process, not at start: an idle daemon that has run nothing never pays for
// it (~5 MiB of RSS and ~15 ms of start-up when imported at start, bench/memory.ts). In the esbuild bundle the
// dynamic import becomes a lazily evaluated module, so this holds there too.

import type { ResultPromise } from 'execa';

/** The execa module, as the runner uses it. */
export type ExecaModule = typeof import('execa');
/** A child as execa runs it for the runner: its output decoded as UTF-8 text. */
export type Child = ResultPromise<{ encoding: 'utf8' }>;

let loaded: ExecaModule | undefined;
let loading: Promise<ExecaModule> | undefined;

/** execa once it has been loaded, else undefined: lets every spawn after the first start synchronously. */
export function execaIfLoaded(): ExecaModule | undefined {
  return loaded;
}

/** Loads execa once (concurrent first spawns share the import); a failed import is tried again next time. */
export function loadExeca(): Promise<ExecaModule> {
  loading ??= import('execa').then(
    (m) => {
      loaded = m;
      return m;
    },
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}
