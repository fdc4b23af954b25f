// A stand-in for a bootc host's mount table, for one test: a private mount namespace (held open by a sleeping
// process) where the test can mount the sysroot read-only as such a host does, start the daemon from, and
// look at what every other process there sees. Nothing mounted in it touches the machine's own mounts.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { waitFor } from './wait-for.js';

export interface HostNamespace {
  pid: number;
  /** Runs a command in the namespace; returns its exit code and output (never throws on non-zero). */
  exec(argv: string[]): { code: number; stdout: string; stderr: string };
  /** The namespace's mountinfo lines. */
  mounts(): string[];
  stop(): void;
}

export async function startHostNamespace(): Promise<HostNamespace> {
  const holder: ChildProcess = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sleep', 'infinity'],
    {
      stdio: 'ignore',
    },
  );
  const pid = holder.pid!;
  const ours = readlinkSync('/proc/self/ns/mnt');
  await waitFor(
    () => {
      try {
        return readlinkSync(`/proc/${pid}/ns/mnt`) !== ours;
      } catch {
        return false;
      }
    },
    'the host namespace to exist',
    10_000,
    10,
  );
  const exec = (argv: string[]) => {
    const r = spawnSync('nsenter', ['-t', String(pid), '-m', '--', ...argv], { encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    pid,
    exec,
    mounts: () =>
      execFileSync('nsenter', ['-t', String(pid), '-m', '--', 'cat', '/proc/self/mountinfo'], {
        encoding: 'utf8',
      })
        .trim()
        .split('\n')
        // The image builders' (build-root) and stand-in host stores' (host-root) own podman of test files running
        // in parallel mounts and unmounts there too (propagated from the machine): not the daemon's, so not part
        // of a before/after check.
        .filter((l) => !/\/(build-root|build-runroot|host-root)\//.test(l)),
    stop: () => {
      holder.kill('SIGKILL');
    },
  };
}
