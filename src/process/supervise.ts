// The one way this project runs a child process, on execa (the design card's choice), loaded on the first spawn
// rather than at start (execa-loader.ts). It owns the child's whole life: its own process group, so a cancel, a
// time limit or a stdout overflow reaches every descendant (SIGTERM, then SIGKILL after a grace period, then the
// pipes are cut so a grandchild holding them cannot wedge the call); a capped stdout; a stderr tail and a
// per-line callback; extra fds passed at fixed indexes. supervised-child.ts maps each to execa's own options and
// keeps beside them only what execa lacks: signalling the whole group, and knowing when it must.

import { execaIfLoaded, loadExeca } from './execa-loader.js';
import { SupervisedChild } from './supervised-child.js';
import type { SupervisedProcess, SupervisedResult, SuperviseOptions } from './supervised-types.js';

export type {
  StopReason,
  SupervisedProcess,
  SupervisedResult,
  SuperviseOptions,
} from './supervised-types.js';

/** Starts `file` under supervision; use `runSupervised` unless the caller needs the child while it runs. */
export function startSupervised(
  file: string,
  args: readonly string[],
  opts: SuperviseOptions = {},
): SupervisedProcess {
  const child = new SupervisedChild([file, ...args], opts);
  const execa = execaIfLoaded();
  if (execa) child.spawn(execa.execa);
  else
    loadExeca().then(
      (m) => child.spawn(m.execa),
      (err: unknown) => child.failToLoad(err),
    );
  return child;
}

/** Runs `file` to completion under supervision; see SuperviseOptions. Never rejects: read `stopped`/`spawnError`. */
export function runSupervised(
  file: string,
  args: readonly string[],
  opts: SuperviseOptions = {},
): Promise<SupervisedResult> {
  return startSupervised(file, args, opts).result;
}
