import { readFileSync } from 'node:fs';

/**
 * The host's mount table (mount point and source root of each entry), for before/after comparisons.
 * Mounts made by the test image builder's own podman (under build-root) are transient and not ours: dropped.
 */
export function readHostMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(3, 5).join(' '))
    .filter((l) => !l.includes('build-root') && !l.includes('build-runroot'))
    .sort();
}

/**
 * Mounts that would be a leak of ours: anything at the alias, or inside the given directories (a test's own
 * stack and sandbox; by default any test directory, which files running in parallel may also mount in).
 */
export function readOurMounts(within: readonly string[] = ['bsd-']): string[] {
  return readHostMounts().filter((l) => l.includes('/run/bootc') || within.some((d) => l.includes(d)));
}
