import { defineConfig } from 'vitest/config';

// Two tiers: `unit` needs nothing but Node (a fake podman at most); `integration` drives real podman,
// docker-registry, dbus-daemon and polkitd as root. Each integration file allocates its own ports and
// temp dirs, so files run in parallel.
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
    ],
  },
});
