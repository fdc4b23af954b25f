// The one error catalogue. Every failure the core reports carries one of these stable names; the transports
// (D-Bus, Varlink, CLI) map names, never messages. Drift tests check that each name is documented in the
// introspection XML and the README.

/** Each entry: the stable name and a one-line description used in docs and drift tests. */
export const ERROR_CATALOGUE = {
  InvalidReference: 'The image reference is malformed, not fully qualified, or names a transport.',
  InvalidArgument: 'An argument other than an image reference is invalid (policy, list size, job id).',
  NotFound: 'The named image or job does not exist.',
  PullFailed: 'podman could not fetch the image (registry unreachable, unauthorized, manifest unknown).',
  PodmanFailed: 'podman exited non-zero; carries exit code, signal and the tail of its stderr.',
  PodmanMissing: 'A required helper binary (podman, unshare, setpriv) is not installed.',
  AuthFileInvalid: "The sysroot's auth.json is not a JSON object; its path is named, its content never is.",
  Canceled: 'The job was canceled before it finished.',
  TimedOut: 'A podman call exceeded its time limit and was killed.',
  Busy: 'The job queue is full; try again later.',
  StorageFailure: 'The store could not be created, opened, read or changed.',
  StoreUnavailable:
    'The store cannot be created or opened (a file where a directory should be, no podman, …); the message names the path and the cause, and the next write tries again.',
  ReadOnlyFilesystem:
    "The file system holding the store is itself read-only (not just the sysroot's mount), so nothing can be written.",
  SysrootLocked:
    'Another process (bootc, ostree, rpm-ostree) held the ostree sysroot lock for longer than the wait allows; nothing was removed.',
  NoRoots: 'A prune was asked with no roots, which would remove every image; refused.',
  InvalidBoundImage:
    'A deployment file naming a garbage-collection root (bound image, origin) cannot be understood.',
  AccessDenied: 'Authorization was refused.',
  InteractiveAuthorizationRequired: 'Authorization needs interaction but the caller did not allow it.',
} as const;

export type ErrorName = keyof typeof ERROR_CATALOGUE;

export const ERROR_NAMES = Object.keys(ERROR_CATALOGUE) as ErrorName[];

/** Extra structured facts an error carries; never secrets. */
export interface ErrorDetails {
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string;
  argv?: readonly string[];
  path?: string;
  reason?: string;
  input?: string;
  removed?: readonly string[];
  [key: string]: unknown;
}

/** The single error class of the project: `name` is always a catalogue name. */
export class StorageError extends Error {
  override readonly name: ErrorName;
  readonly details: ErrorDetails;

  constructor(name: ErrorName, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
    this.details = details;
  }
}

/** Builds a catalogue error; the verb-first helper keeps call sites short. */
export function createError(
  name: ErrorName,
  message: string,
  details: ErrorDetails = {},
  cause?: unknown,
): StorageError {
  return new StorageError(name, message, details, cause === undefined ? undefined : { cause });
}

/** True when `err` is a catalogue error, optionally of one name. */
export function isStorageError(err: unknown, name?: ErrorName): err is StorageError {
  return err instanceof StorageError && (name === undefined || err.name === name);
}

/** Wraps anything thrown into a catalogue error so transports never see a bare Error. */
export function toStorageError(err: unknown, fallback: ErrorName = 'StorageFailure'): StorageError {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return createError(fallback, message, {}, err);
}
