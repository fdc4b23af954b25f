// Maps catalogue errors to D-Bus error names. Callers see org.bootc.Storage.Error.<Name> for the public
// names, the standard freedesktop names for authorization, and never a stack trace.

import { type ErrorName, type StorageError, toStorageError } from '../../errors.js';
import { ERROR_PREFIX } from './members.js';

/** Catalogue names sent on the wire as org.bootc.Storage.Error.<Name>. */
export const WIRE_ERROR_NAMES: readonly ErrorName[] = [
  'InvalidReference',
  'InvalidArgument',
  'NotFound',
  'PullFailed',
  'Busy',
  'Canceled',
  'StorageFailure',
  'StoreUnavailable',
  'ReadOnlyFilesystem',
  'SysrootLocked',
  'NoRoots',
  'InvalidBoundImage',
];

const FREEDESKTOP: Partial<Record<ErrorName, string>> = {
  AccessDenied: 'org.freedesktop.DBus.Error.AccessDenied',
  InteractiveAuthorizationRequired: 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired',
};

/** The D-Bus error name and message for anything a handler threw; `pulling` maps internal failures to PullFailed. */
export function mapErrorToDBus(err: unknown, pulling: boolean): { name: string; message: string } {
  const e: StorageError = toStorageError(err);
  // A transport-level problem (wrong signature) carries the standard name it must go out as.
  const standard = (err as { wire?: unknown }).wire;
  if (typeof standard === 'string') return { name: standard, message: e.message };
  const fd = FREEDESKTOP[e.name];
  if (fd) return { name: fd, message: e.message };
  const wire = WIRE_ERROR_NAMES.includes(e.name) ? e.name : pulling ? 'PullFailed' : 'StorageFailure';
  return { name: `${ERROR_PREFIX}${wire}`, message: e.message };
}
