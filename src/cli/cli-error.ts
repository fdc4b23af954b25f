// The CLI's one failure type: what failed, a one-line message and the exit status. D-Bus errors are turned
// into it by their name (never by their text), and it is printed as a single stderr line.

import { EXIT, type ExitCode, mapErrorNameToExitCode } from './exit-codes.js';

export const PROGRAM_NAME = 'bootc-storagectl';

export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** The D-Bus error name it came from, when it came from the bus. */
  readonly errorName: string | undefined;

  constructor(message: string, exitCode: ExitCode, errorName?: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.errorName = errorName;
  }
}

/** A D-Bus error as dbus-next rejects with it. */
interface DBusErrorLike {
  type: string;
  text?: string;
}

function isDBusError(err: unknown): err is DBusErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string';
}

/** Collapses any text to one printable line. */
export function toOneLine(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The message for a D-Bus error; the name decides, the daemon's text is the detail. */
function describeDBusError(err: DBusErrorLike, member: string, noAskPassword: boolean): string {
  const text = toOneLine(err.text ?? '');
  const short = err.type.slice(err.type.lastIndexOf('.') + 1);
  switch (err.type) {
    case 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired':
      return noAskPassword
        ? `authentication is required and --no-ask-password forbids asking for it (${text})`
        : `authentication is required (${text})`;
    case 'org.freedesktop.DBus.Error.AccessDenied':
      return `access denied: ${text}`;
    case 'org.freedesktop.DBus.Error.ServiceUnknown':
    case 'org.freedesktop.DBus.Error.NameHasNoOwner':
      return `bootc-storaged is not running and could not be started (${short}: ${text})`;
    case 'org.freedesktop.DBus.Error.UnknownMethod':
    case 'org.freedesktop.DBus.Error.UnknownInterface':
    case 'org.freedesktop.DBus.Error.UnknownObject':
      return `the running bootc-storaged does not support ${member} (${short}: ${text})`;
    case 'org.freedesktop.DBus.Error.NoReply':
    case 'org.freedesktop.DBus.Error.Timeout':
    case 'org.freedesktop.DBus.Error.Disconnected':
      return `no answer from bootc-storaged (${short}: ${text})`;
    default:
      return text === '' ? err.type : text;
  }
}

/** Turns anything a command threw into a CliError; `what` says what failed ("cannot pull quay.io/x"). */
export function toCliError(
  err: unknown,
  what: string,
  opts: { member?: string; noAskPassword?: boolean } = {},
): CliError {
  if (err instanceof CliError) return err;
  if (isDBusError(err)) {
    const message = describeDBusError(err, opts.member ?? 'this method', opts.noAskPassword ?? false);
    return new CliError(`${what}: ${message}`, mapErrorNameToExitCode(err.type), err.type);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(`${what}: ${toOneLine(message)}`, EXIT.FAILURE);
}

/** The single stderr line for a failure. */
export function formatErrorLine(message: string): string {
  return `${PROGRAM_NAME}: ${toOneLine(message)}\n`;
}
