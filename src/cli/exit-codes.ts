// The documented exit statuses of bootc-storagectl and the mapping from D-Bus error names onto them.
// The same table is printed in --help, written in docs/bootc-storagectl.1 and checked by the CLI tests.

export const EXIT = {
  OK: 0,
  /** `exists`: the image is absent; any other command: a failure that fits no other code. */
  FAILURE: 1,
  USAGE: 2,
  NOT_AUTHORIZED: 3,
  INVALID_INPUT: 4,
  NOT_FOUND: 5,
  BUSY: 6,
  PULL_OR_STORAGE_FAILED: 7,
  CANCELED_ELSEWHERE: 8,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const STORAGE_ERROR = 'org.bootc.Storage.Error.';
const FREEDESKTOP_ERROR = 'org.freedesktop.DBus.Error.';

/** D-Bus error name → exit status; names not listed give EXIT.FAILURE. */
const BY_ERROR_NAME: Readonly<Record<string, ExitCode>> = {
  [`${FREEDESKTOP_ERROR}AccessDenied`]: EXIT.NOT_AUTHORIZED,
  [`${FREEDESKTOP_ERROR}InteractiveAuthorizationRequired`]: EXIT.NOT_AUTHORIZED,
  [`${STORAGE_ERROR}InvalidReference`]: EXIT.INVALID_INPUT,
  [`${STORAGE_ERROR}InvalidArgument`]: EXIT.INVALID_INPUT,
  [`${STORAGE_ERROR}NoRoots`]: EXIT.INVALID_INPUT,
  [`${STORAGE_ERROR}InvalidBoundImage`]: EXIT.INVALID_INPUT,
  [`${FREEDESKTOP_ERROR}InvalidArgs`]: EXIT.INVALID_INPUT,
  [`${STORAGE_ERROR}NotFound`]: EXIT.NOT_FOUND,
  [`${STORAGE_ERROR}Busy`]: EXIT.BUSY,
  [`${STORAGE_ERROR}PullFailed`]: EXIT.PULL_OR_STORAGE_FAILED,
  [`${STORAGE_ERROR}StorageFailure`]: EXIT.PULL_OR_STORAGE_FAILED,
  [`${STORAGE_ERROR}StoreUnavailable`]: EXIT.PULL_OR_STORAGE_FAILED,
  [`${STORAGE_ERROR}ReadOnlyFilesystem`]: EXIT.PULL_OR_STORAGE_FAILED,
  [`${STORAGE_ERROR}SysrootLocked`]: EXIT.BUSY,
  [`${STORAGE_ERROR}Canceled`]: EXIT.CANCELED_ELSEWHERE,
};

/** The exit status for a D-Bus error name. */
export function mapErrorNameToExitCode(name: string): ExitCode {
  return BY_ERROR_NAME[name] ?? EXIT.FAILURE;
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
  130  interrupted by Ctrl-C (SIGINT); a running job of this command was canceled`;
