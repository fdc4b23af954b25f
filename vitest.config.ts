import { defineConfig } from 'vitest/config';

// Three tiers: `unit` needs nothing but Node (a fake podman at most); `integration` drives real podman,
// docker-registry, dbus-daemon and polkitd as root (each file allocates its own ports and temp dirs, so files
// run in parallel); `system` boots systemd in nspawn, one generation (BOOTC_STORAGED_ROOTFS); test/system/run.sh
// runs the tier on both with test/system/vitest.config.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        test: {
          // Crashes, kill -9, a dying or silent registry, a full disk, fuzzing and floods. Serial: these tests
          // mount tmpfs and compare the host's mount table, which parallel files would disturb.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // The Cockpit page (cockpit/) in Debian's Chromium through cockpit-ws and cockpit-bridge, against the
          // daemon on a private bus with a registry and a real ostree sysroot. Serial: one browser at a time.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts', 'test/browser/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'system',
          include: ['test/system/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
