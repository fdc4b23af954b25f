// A supervised child's file descriptors, as execa's `stdio` array and fd-specific `buffer` option: stdin from
// nowhere, stdout captured or discarded, stderr piped (or the terminal's three inherited, or a socket as stdin
// and stdout), extra fds at fixed indexes, and every slot up to FILLED_FDS filled so nothing the daemon holds
// leaks into the child.

import { openSync } from 'node:fs';
import type { Socket } from 'node:net';

/** Child fds always filled, so nothing the daemon holds there (a socket-activated listener at 3) leaks in. */
const FILLED_FDS = 5;

/** One entry of execa's `stdio` array: an fd number of ours, or what execa/Node should make of the slot. */
export type StdioItem = number | Socket | 'ignore' | 'pipe' | 'inherit';

/** What of SuperviseOptions decides the child's fds. */
export interface StdioRequest {
  terminal?: boolean | undefined;
  stdinout?: Socket | undefined;
  captureStdout?: boolean | undefined;
  fds?: Readonly<Record<number, number | 'pipe'>> | undefined;
}

let devNullFd: number | undefined;
/** One read-only /dev/null fd, kept open, to fill child fd slots that carry nothing. */
function devNull(): number {
  devNullFd ??= openSync('/dev/null', 'r');
  return devNullFd;
}

/** The `stdio` option; never 'ignore' past stderr: libuv would leave whatever the daemon has there open. */
export function childStdio(req: StdioRequest): StdioItem[] {
  const stdio: StdioItem[] = req.stdinout
    ? [req.stdinout, req.stdinout, 'pipe']
    : req.terminal
      ? ['inherit', 'inherit', 'inherit']
      : ['ignore', req.captureStdout ? 'pipe' : 'ignore', 'pipe'];
  const given = Object.keys(req.fds ?? {}).map(Number);
  const top = Math.max(FILLED_FDS - 1, ...given);
  for (let i = 3; i <= top; i++) stdio[i] = req.fds?.[i] ?? devNull();
  return stdio;
}

/** The extra fds (3+) piped to the parent, which the caller reads through `stream(index)`. */
export function pipedFds(req: StdioRequest): number[] {
  return Object.entries(req.fds ?? {})
    .filter(([, v]) => v === 'pipe')
    .map(([k]) => Number(k));
}

/**
 * execa's `buffer` option: only stdout is kept for the result (when captured); stderr is read line by line
 * for its tail, and a piped extra fd by the caller, so execa must not hold either in memory.
 */
export function bufferOption(req: StdioRequest): Record<string, boolean> {
  const buffer: Record<string, boolean> = { stdout: Boolean(req.captureStdout), stderr: false };
  for (const i of pipedFds(req)) buffer[`fd${i}`] = false;
  return buffer;
}
