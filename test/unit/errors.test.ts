// The catalogue carries the wire: one mapping per transport, derived from each entry, and the CLI's exit
// status from the same entry. These check that the derivations agree with each other.

import { describe, expect, it } from 'vitest';
import { mapErrorToDBus } from '../../src/api/dbus/map-error.js';
import { mapErrorToVarlink } from '../../src/api/varlink/server.js';
import { mapErrorNameToExitCode } from '../../src/cli/exit-codes.js';
import {
  createError,
  ERROR_CATALOGUE,
  ERROR_NAMES,
  EXIT,
  WIRE_ERROR_NAMES,
  wireErrorName,
} from '../../src/errors.js';

describe('the error catalogue on the wire', () => {
  it('sends every public error under its own name on both transports', () => {
    for (const n of WIRE_ERROR_NAMES) {
      expect(wireErrorName(createError(n, 'x'), 'dbus', false)).toBe(`org.bootc.Storage.Error.${n}`);
      expect(mapErrorToVarlink(createError(n, 'x'), true).error).toBe(`org.bootc.Storage.${n}`);
    }
  });

  it('never sends an internal name: PullFailed while pulling, StorageFailure otherwise, on both', () => {
    const internal = ERROR_NAMES.filter((n) => ERROR_CATALOGUE[n].wire === 'internal');
    expect(internal.sort()).toEqual(['AuthFileInvalid', 'PodmanFailed', 'TimedOut', 'ToolMissing']);
    for (const n of internal) {
      expect(mapErrorToDBus(createError(n, 'x'), true).name).toBe('org.bootc.Storage.Error.PullFailed');
      expect(mapErrorToVarlink(createError(n, 'x'), false).error).toBe('org.bootc.Storage.StorageFailure');
    }
  });

  it('maps authorization errors to each transport’s standard names', () => {
    expect(mapErrorToDBus(createError('AccessDenied', 'x'), false).name).toBe(
      'org.freedesktop.DBus.Error.AccessDenied',
    );
    expect(mapErrorToVarlink(createError('InteractiveAuthorizationRequired', 'x'), false).error).toBe(
      'org.varlink.service.PermissionDenied',
    );
  });

  it('gives the CLI the exit status the catalogue names, for every name the daemon can send', () => {
    for (const n of ERROR_NAMES) {
      const spec = ERROR_CATALOGUE[n];
      const sent = mapErrorToDBus(createError(n, 'x'), false).name;
      const expected = spec.wire === 'internal' ? ERROR_CATALOGUE.StorageFailure.exit : spec.exit;
      expect(mapErrorNameToExitCode(sent), n).toBe(expected);
    }
    expect(mapErrorNameToExitCode('org.freedesktop.DBus.Error.InvalidArgs')).toBe(EXIT.INVALID_INPUT);
    expect(mapErrorNameToExitCode('org.example.Unknown')).toBe(EXIT.FAILURE);
  });
});
