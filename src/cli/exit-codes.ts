// The documented exit statuses of bootc-storagectl and the mapping from D-Bus error names onto them.
// The same table is printed in --help, written in docs/bootc-storagectl.1 and checked by the CLI tests.

import { EXIT, type ExitCode, exitCodeForDBusError } from '../errors.js';

export { EXIT, type ExitCode };

/** Transport-level D-Bus errors that are not catalogue errors. */
const BY_STANDARD_NAME: Readonly<Record<string, ExitCode>> = {
  'org.freedesktop.DBus.Error.InvalidArgs': EXIT.INVALID_INPUT,
};

/** The exit status for a D-Bus error name: the catalogue's own column (src/errors.ts), else EXIT.FAILURE. */
export function mapErrorNameToExitCode(name: string): ExitCode {
  return BY_STANDARD_NAME[name] ?? exitCodeForDBusError(name);
}

/** The table printed at the end of the top-level --help (kept in step with the man page). */
export const EXIT_STATUS_HELP = `Exit status:
  0    success (exists: the image is present)
  1    exists: the image is absent; otherwise a failure with no code of its own
       (daemon unreachable, method unknown to the daemon, unexpected reply)
  2    usage error (unknown option, missing or malformed argument)
  3    not authorized (polkit refused, or it needs a password and
       --no-ask-password was given)
  4    invalid input (malformed image reference, invalid argument, nothing to keep:
       no roots or no deployments, a bound image that cannot be understood)
  5    not found (no such image or job)
  6    busy (the job queue is full, or bootc held the sysroot lock; try again later)
  7    the pull or the store failed
  8    the job was canceled by someone else (cancel, another client)
  9    the signature policy rejected the image (unsigned, or not signed as required)
  10   -H: the host could not be reached over SSH (unknown host, host key not known
       or changed, login refused, no systemd-stdio-bridge or system bus there)
  130  interrupted by Ctrl-C (SIGINT); a running job of this command was canceled`;
