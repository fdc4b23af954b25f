// Why ssh ended before the bus connection was made, in words and exit status 10. The exit status decides first:
// 255 is ssh's own failure (then ssh's words name it: host key, login, name, connection), any other status is
// the remote command's (its shell found no systemd-stdio-bridge, or the bridge could not reach the bus), whose
// words, which may come from the remote host's locale, are only quoted.

import type { SupervisedResult } from '../process/supervise.js';
import { CliError, toOneLine } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import { REMOTE_BRIDGE } from './remote-host.js';

const NO_BRIDGE = `the host has no ${REMOTE_BRIDGE} (systemd's bridge to its system bus)`;
const NO_BUS = `${REMOTE_BRIDGE} on the host cannot reach its system bus`;
/** ssh's own failures end with this status; any other is the remote command's (the bridge's, or its shell's). */
const SSH_FAILED = 255;
/** A shell's "found but cannot run" and "not found". */
const NOT_RUNNABLE = new Set([126, 127]);

/** ssh's own words (OpenSSH does not translate them); the first match names the failure. */
const SSH_FAILURES: readonly [RegExp, string][] = [
  [
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|No \S+ host key is known/i,
    "the host's key is not known or has changed: check it and record it in known_hosts (ssh to the host once)",
  ],
  [/Permission denied|Too many authentication failures/i, 'the SSH login was refused'],
  [
    /Could not resolve hostname|Name or service not known|Temporary failure in name resolution/i,
    'unknown host name',
  ],
  [
    /Connection refused|Connection timed out|No route to host|Network is unreachable|kex_exchange_identification/i,
    'cannot connect to the SSH server',
  ],
  // Also after a login (nologin, an account check): the server ended the session before the bridge ran.
  [/Connection closed by|Connection reset/i, 'the SSH server closed the connection'],
];

/** The last line of ssh's stderr that says something (ssh ends with the line that matters). */
export function lastStderrLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => toOneLine(l))
    .filter((l) => l !== '');
  return (lines.at(-1) ?? '').replace(/^ssh: /, '');
}

/** Why ssh ended, in words and exit status REMOTE; the host itself is named by the caller's prefix. */
export function describeSshFailure(result: SupervisedResult, program: string): CliError {
  if (result.spawnError) {
    return new CliError(`cannot run ${program}: ${toOneLine(result.spawnError.message)}`, EXIT.REMOTE);
  }
  const said = lastStderrLine(result.stderrTail);
  const ended = result.signal ? `killed by ${result.signal}` : `exit status ${result.exitCode}`;
  let what: string;
  if (result.signal !== null || result.exitCode === SSH_FAILED) {
    what =
      SSH_FAILURES.find(([re]) => re.test(result.stderrTail))?.[1] ??
      'ssh ended before the bus connection was made';
  } else {
    // The bridge logs to the host's journal when there is one; its status is then all that comes back.
    what = NOT_RUNNABLE.has(result.exitCode ?? 0) ? NO_BRIDGE : NO_BUS;
  }
  return new CliError(`${what} (ssh: ${said === '' ? ended : said})`, EXIT.REMOTE);
}
