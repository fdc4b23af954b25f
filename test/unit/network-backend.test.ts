// podman's cached network-backend choice is dropped from the store when it is opened: it crosses OS updates
// with the store, and podman 4.3 without netavark refuses every command once podman 5 wrote "netavark"
// (test/system/os-update.test.ts boots both generations on one store).

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { forgetNetworkBackend, NETWORK_BACKEND_FILE } from '../../src/storage/create-store.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void } | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

/** A logger that keeps its records. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  return { log, lines };
}

describe('forgetNetworkBackend', () => {
  it('removes the cached choice and says which it was', () => {
    tmp = makeTempDir('bsd-netbackend-');
    const dir = tmp.path;
    writeFileSync(join(dir, NETWORK_BACKEND_FILE), 'netavark');
    writeFileSync(join(dir, 'storage.lock'), '');
    const { log, lines } = recordingLogger();
    forgetNetworkBackend(dir, log);
    expect(existsSync(join(dir, NETWORK_BACKEND_FILE))).toBe(false);
    expect(existsSync(join(dir, 'storage.lock'))).toBe(true); // nothing else is touched
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ choice: 'netavark', store: dir });
  });

  it('does nothing (and logs nothing) on a store without one', () => {
    tmp = makeTempDir('bsd-netbackend-');
    const dir = tmp.path;
    const { log, lines } = recordingLogger();
    forgetNetworkBackend(dir, log);
    expect(lines).toEqual([]);
  });
});
