// The daemon's error names in words, as the page shows them (`Invalid reference: …`).
import { ERROR_PREFIX } from './records.js';

/** The daemon's error names, in words (README: errors; the freedesktop names for authorization). */
const ERROR_LABELS: Record<string, string> = {
  InvalidReference: 'Invalid reference',
  InvalidArgument: 'Invalid argument',
  NotFound: 'Not found',
  PullFailed: 'Pull failed',
  Canceled: 'Canceled',
  Busy: 'Busy',
  StorageFailure: 'Storage failure',
  StoreUnavailable: 'Store unavailable',
  ReadOnlyFilesystem: 'Read-only file system',
  SysrootLocked: 'Sysroot locked',
  NoRoots: 'No roots',
  InvalidBoundImage: 'Invalid bound image',
};
const FREEDESKTOP_LABELS: Record<string, string> = {
  'org.freedesktop.DBus.Error.AccessDenied': 'Not authorized',
  'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired': 'Authentication required',
  'org.freedesktop.DBus.Error.ServiceUnknown': 'bootc-storaged is not running',
  'org.freedesktop.DBus.Error.NameHasNoOwner': 'bootc-storaged is not running',
  'org.freedesktop.DBus.Error.NoReply': 'No reply from bootc-storaged',
  'org.freedesktop.DBus.Error.Timeout': 'No reply from bootc-storaged',
  'org.freedesktop.DBus.Error.UnknownMethod': 'Not supported by this bootc-storaged',
};

/** An error name in words: `org.bootc.Storage.Error.InvalidReference` → `Invalid reference`. */
export function errorLabel(name: string): string {
  if (name.startsWith(ERROR_PREFIX)) {
    const short = name.slice(ERROR_PREFIX.length);
    return ERROR_LABELS[short] ?? short.replace(/([a-z])([A-Z])/g, '$1 $2');
  }
  return FREEDESKTOP_LABELS[name] ?? (name || 'Error');
}

/** `Label: message` for a D-Bus error (name and message as the daemon sent them). */
export function describeError(name: string, message: string): string {
  const label = errorLabel(name);
  const text = message.trim();
  return text && text !== label ? `${label}: ${text}` : label;
}
