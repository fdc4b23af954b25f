// The booted-systemd tier on both platform generations, as test/system/run.sh (make test-system) runs it:
//
//   npx vitest run --config test/system/vitest.config.ts [--project system-debian13] [FILE…]
//
// Every file of test/system runs once per generation: project system-debian12 boots Debian 12 (bookworm:
// systemd 252, podman 4.3), system-debian13 boots Debian 13 (trixie: systemd 257, podman 5.4, Debian's own
// nodejs 20). The project sets BOOTC_STORAGED_ROOTFS, which lib/container.ts reads; each describe block's name
// ends in "(Debian 12)" or "(Debian 13)", so one vitest JSON report holds both runs and says which one failed.
// Two files run at a time (each boots its own container, registry and directories, so any two may run
// together, of one generation or of both): the tests mostly wait on systemd, polkit and timeouts, and the
// tier takes ~1 min on a 2-core machine instead of ~2 min with one file at a time. (vitest runs the files of
// projects with `fileParallelism: false` one at a time across all projects, not per project.)
//
// (The root vitest.config.ts's project `system` runs the same files on one generation, BOOTC_STORAGED_ROOTFS or
// Debian 12 by default: `npx vitest run --project system FILE`.)
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const generation = (name: string, rootfs: 'bookworm' | 'trixie') => ({
  test: {
    name,
    include: ['test/system/**/*.test.ts'],
    env: { BOOTC_STORAGED_ROOTFS: rootfs },
    testTimeout: 300_000,
    hookTimeout: 600_000,
    maxWorkers: 2,
  },
});

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    projects: [generation('system-debian12', 'bookworm'), generation('system-debian13', 'trixie')],
  },
});
