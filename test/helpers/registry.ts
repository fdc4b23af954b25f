// A real docker-registry (distribution 2.8) on 127.0.0.1, one per test file, optionally behind htpasswd.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort } from './ports.js';
import { waitFor } from './wait-for.js';

export interface Registry {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  logPath: string;
  /** Number of manifest GET requests for a repository path (e.g. `test/one`) seen so far. */
  countManifestGets(repo: string): number;
  stop(): Promise<void>;
  /** Stops the process but keeps its data; start() brings it back on the same port. */
  start(): Promise<void>;
}

export interface RegistryOptions {
  dir: string;
  auth?: { user: string; password: string };
}

export async function startRegistry(opts: RegistryOptions): Promise<Registry> {
  const port = await getFreePort();
  const host = `127.0.0.1:${port}`;
  mkdirSync(join(opts.dir, 'data'), { recursive: true });
  let authBlock = '';
  if (opts.auth) {
    const line = execFileSync('htpasswd', ['-Bbn', opts.auth.user, opts.auth.password], { encoding: 'utf8' });
    writeFileSync(join(opts.dir, 'htpasswd'), line);
    authBlock = `auth:\n  htpasswd:\n    realm: test\n    path: ${join(opts.dir, 'htpasswd')}\n`;
  }
  const config = join(opts.dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(opts.dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${authBlock}`,
  );
  const logPath = join(opts.dir, 'registry.log');
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const c = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const append = (d: Buffer) => {
      log += d.toString('utf8');
      writeFileSync(logPath, log);
    };
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    await waitFor(async () => {
      const res = await fetch(`http://${host}/v2/`).catch(() => undefined);
      return res !== undefined && (res.status === 200 || res.status === 401);
    }, `registry on ${host}`);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise((r) => {
      c.once('close', r);
      c.kill('SIGTERM');
    });
  };
  await start();
  return {
    host,
    port,
    logPath,
    countManifestGets: (repo) => {
      const re = new RegExp(
        `"GET /v2/${repo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/manifests/[^ ]+ HTTP`,
        'g',
      );
      return (readFileSync(logPath, 'utf8').match(re) ?? []).length;
    },
    stop,
    start,
  };
}
