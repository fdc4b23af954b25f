// Builds tiny distinct images with real podman (a private build store) and pushes them to a test registry.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ImageBuilder {
  /** Builds `FROM scratch` + one file of `bytes` random bytes, tags it `name`, pushes it; returns the image ID. */
  buildAndPush(name: string, opts?: { bytes?: number; creds?: string }): Promise<string>;
  /** Runs podman against the builder's own store. */
  podman(args: string[]): Promise<string>;
  root: string;
  runroot: string;
}

export function createImageBuilder(dir: string): ImageBuilder {
  const root = join(dir, 'build-root');
  const runroot = join(dir, 'build-runroot');
  const podman = async (args: string[]) =>
    (await run('podman', ['--root', root, '--runroot', runroot, ...args], { maxBuffer: 64 * 1024 * 1024 }))
      .stdout;
  let n = 0;
  return {
    root,
    runroot,
    podman,
    async buildAndPush(name, opts = {}) {
      const ctx = join(dir, `ctx-${n++}`);
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, 'data'), randomBytes(opts.bytes ?? 64));
      writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY data /data\n');
      const id = (await podman(['build', '-q', '-t', name, ctx])).trim().split('\n').at(-1) ?? '';
      await podman([
        'push',
        '-q',
        '--tls-verify=false',
        ...(opts.creds ? ['--creds', opts.creds] : []),
        name,
      ]);
      return id;
    },
  };
}
