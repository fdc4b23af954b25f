// Maps catalogue errors to D-Bus error names, through the catalogue's own wire column (src/errors.ts).
// Callers see org.bootc.Storage.Error.<Name> for the public names, the standard freedesktop names for
// authorization, and never a stack trace.

import { type StorageError, toStorageError, WIRE_ERROR_NAMES, wireErrorName } from '../../errors.js';

export { WIRE_ERROR_NAMES };

/** The D-Bus error name and message for anything a handler threw; `pulling` maps internal failures to PullFailed. */
export function mapErrorToDBus(err: unknown, pulling: boolean): { name: string; message: string } {
  const e: StorageError = toStorageError(err);
  // A transport-level problem (wrong signature) carries the standard name it must go out as.
  const standard = (err as { wire?: unknown }).wire;
  if (typeof standard === 'string') return { name: standard, message: e.message };
  return { name: wireErrorName(e, 'dbus', pulling), message: e.message };
}
