// The one error catalogue. Every failure the core reports carries one of these stable names; the transports
// (D-Bus, Varlink, CLI) map names, never messages. Drift tests check that each name is documented in the
// introspection XML and the README.

/**
 * The exit statuses of bootc-storagectl (documented in its --help and man page). Each error below names the
 * one it exits with, so the CLI never keeps a second table.
 */
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
  SIGNATURE_REJECTED: 9,
  /** `-H`: ssh could not log in to the host or start its bridge to the system bus there. */
  REMOTE: 10,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * How an error goes out: `public` under its own name on both transports; `internal` never on the wire (it
 * goes out as PullFailed while pulling, else StorageFailure, with the detail in the message); `denied` and
 * `interactive` as each transport's standard authorization errors.
 */
type Wire = 'public' | 'internal' | 'denied' | 'interactive';

interface ErrorSpec {
  description: string;
  wire: Wire;
  exit: ExitCode;
}

/** The one catalogue: each name with its description (docs, drift tests), wire treatment and CLI exit status. */
export const ERROR_CATALOGUE = {
  InvalidReference: {
    description: 'The image reference is malformed, not fully qualified, or names a transport.',
    wire: 'public',
    exit: EXIT.INVALID_INPUT,
  },
  InvalidArgument: {
    description: 'An argument other than an image reference is invalid (policy, list size, job id).',
    wire: 'public',
    exit: EXIT.INVALID_INPUT,
  },
  NotFound: { description: 'The named image or job does not exist.', wire: 'public', exit: EXIT.NOT_FOUND },
  PullFailed: {
    description: 'podman could not fetch the image (registry unreachable, unauthorized, manifest unknown).',
    wire: 'public',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  SignatureRejected: {
    description:
      "The host's signature policy (/etc/containers/policy.json with registries.d) rejected the image: unsigned, signed by another key, or a signature that does not match. The message names the image and the policy's reason; nothing was stored.",
    wire: 'public',
    exit: EXIT.SIGNATURE_REJECTED,
  },
  PodmanFailed: {
    description: 'podman exited non-zero; carries exit code, signal and the tail of its stderr.',
    wire: 'internal',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  ToolMissing: {
    description: 'A required program (podman, skopeo, unshare, setpriv) is not installed.',
    wire: 'internal',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  AuthFileInvalid: {
    description: "The sysroot's auth.json is not a JSON object; its path is named, its content never is.",
    wire: 'internal',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  Canceled: {
    description: 'The job was canceled before it finished.',
    wire: 'public',
    exit: EXIT.CANCELED_ELSEWHERE,
  },
  TimedOut: {
    description: 'A podman call exceeded its time limit and was killed.',
    wire: 'internal',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  Busy: { description: 'The job queue is full; try again later.', wire: 'public', exit: EXIT.BUSY },
  StorageFailure: {
    description: 'The store could not be created, opened, read or changed.',
    wire: 'public',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  StoreUnavailable: {
    description:
      'The store cannot be created or opened (a file where a directory should be, no podman, …); the message names the path and the cause, and the next write tries again.',
    wire: 'public',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  ReadOnlyFilesystem: {
    description:
      "The file system holding the store is itself read-only (not just the sysroot's mount), so nothing can be written.",
    wire: 'public',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  NoSpace: {
    description:
      "A pull cannot fit: the file system holding the store has less free space (after the daemon's reserve) than the image needs; the message gives both numbers. Nothing was fetched.",
    wire: 'public',
    exit: EXIT.PULL_OR_STORAGE_FAILED,
  },
  SysrootLocked: {
    description:
      'Another process (bootc, ostree, rpm-ostree) held the ostree sysroot lock for longer than the wait allows; nothing was removed.',
    wire: 'public',
    exit: EXIT.BUSY,
  },
  NoRoots: {
    description: 'A prune was asked with no roots, which would remove every image; refused.',
    wire: 'public',
    exit: EXIT.INVALID_INPUT,
  },
  InvalidBoundImage: {
    description:
      'A deployment file naming a garbage-collection root (bound image, origin) cannot be understood.',
    wire: 'public',
    exit: EXIT.INVALID_INPUT,
  },
  AccessDenied: { description: 'Authorization was refused.', wire: 'denied', exit: EXIT.NOT_AUTHORIZED },
  InteractiveAuthorizationRequired: {
    description: 'Authorization needs interaction but the caller did not allow it.',
    wire: 'interactive',
    exit: EXIT.NOT_AUTHORIZED,
  },
} as const satisfies Record<string, ErrorSpec>;

/** D-Bus names of the public errors: org.bootc.Storage.Error.<Name>. */
export const DBUS_ERROR_PREFIX = 'org.bootc.Storage.Error.';
/** Varlink names of the public errors: org.bootc.Storage.<Name> (the interface's own errors). */
export const VARLINK_ERROR_PREFIX = 'org.bootc.Storage.';
const STANDARD_WIRE_NAMES = {
  dbus: {
    denied: 'org.freedesktop.DBus.Error.AccessDenied',
    interactive: 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired',
  },
  varlink: {
    denied: 'org.varlink.service.PermissionDenied',
    interactive: 'org.varlink.service.PermissionDenied',
  },
} as const;

export type ErrorName = keyof typeof ERROR_CATALOGUE;

export const ERROR_NAMES = Object.keys(ERROR_CATALOGUE) as ErrorName[];

/** Catalogue names sent on the wire under their own name (org.bootc.Storage.Error.<Name> on D-Bus). */
export const WIRE_ERROR_NAMES: readonly ErrorName[] = ERROR_NAMES.filter(
  (n) => ERROR_CATALOGUE[n].wire === 'public',
);

/**
 * The one mapping of an error onto a transport: its wire name there. Internal failures go out as PullFailed
 * while pulling (`pulling`), else as StorageFailure; authorization errors as the transport's standard ones.
 */
export function wireErrorName(err: unknown, transport: 'dbus' | 'varlink', pulling: boolean): string {
  const e = toStorageError(err);
  const { wire } = ERROR_CATALOGUE[e.name];
  if (wire === 'denied' || wire === 'interactive') return STANDARD_WIRE_NAMES[transport][wire];
  const name = wire === 'public' ? e.name : pulling ? 'PullFailed' : 'StorageFailure';
  return `${transport === 'dbus' ? DBUS_ERROR_PREFIX : VARLINK_ERROR_PREFIX}${name}`;
}

/** The CLI exit status for a D-Bus error name (catalogue names; anything else is EXIT.FAILURE). */
export function exitCodeForDBusError(dbusName: string): ExitCode {
  for (const n of ERROR_NAMES) {
    const spec = ERROR_CATALOGUE[n];
    if (spec.wire === 'public' && dbusName === `${DBUS_ERROR_PREFIX}${n}`) return spec.exit;
    if (spec.wire === 'denied' || spec.wire === 'interactive') {
      if (dbusName === STANDARD_WIRE_NAMES.dbus[spec.wire]) return spec.exit;
    }
  }
  return EXIT.FAILURE;
}

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

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we escape
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Makes text that came from outside (a registry's error message via podman) safe for a D-Bus string (no NUL)
 * and a journal line (no line breaks or control characters that could forge another entry).
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
