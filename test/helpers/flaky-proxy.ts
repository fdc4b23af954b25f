// An HTTP proxy in front of a test registry that misbehaves on request: it answers the next N manifest
// requests with a status of our choosing (503, 429 with Retry-After, 401, …) or cuts the connection, and
// forwards everything else. Every request is logged, so a test can count exactly what podman asked.

import { createServer, request, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { getFreePort } from './ports.js';

/** One request the proxy saw, and how it answered. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** The status it sent (the registry's when forwarded), or 0 for a cut connection. */
  status: number;
  /** Forwarded to the registry (true) or answered by the failure rule (false). */
  forwarded: boolean;
  at: number;
}

/** What the proxy does to the requests a rule covers. */
export interface Failure {
  /** Which requests the rule covers: manifest requests (the default) or blob requests. */
  what?: 'manifests' | 'blobs';
  /** Let this many of those requests through before failing any (default 0). */
  after?: number;
  /** How many of those requests to fail (Infinity: all of them). */
  count: number;
  /** HTTP status to answer with, or cut the connection: `close` (the client reads EOF) or `reset` (a TCP RST). */
  status: number | 'close' | 'reset';
  headers?: Record<string, string>;
  body?: string;
}

export interface FlakyProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  /** Every request so far, oldest first. */
  readonly log: ProxiedRequest[];
  /** Fails the next requests the rule covers (replacing any rule still pending). */
  fail(rule: Failure): void;
  /** Manifest requests (GET or HEAD `/v2/<repo>/manifests/…`) for `repo`, oldest first. */
  manifestRequests(repo: string): ProxiedRequest[];
  close(): Promise<void>;
}

const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/[^/]+$/;
const BLOB_PATH = /^\/v2\/(.+)\/blobs\/sha256:[0-9a-f]{64}$/;

/** The error body a registry sends with `status` (distribution's error codes). */
function registryError(status: number): string {
  const code = status === 401 ? 'UNAUTHORIZED' : status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE';
  return JSON.stringify({ errors: [{ code, message: `flaky proxy says ${status}` }] });
}

/** Starts a proxy to `target` (a docker-registry) on a free 127.0.0.1 port. */
export async function startFlakyProxy(target: { host: string; port: number }): Promise<FlakyProxy> {
  const log: ProxiedRequest[] = [];
  let rule: Failure | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const entry: ProxiedRequest = {
      method: req.method ?? 'GET',
      path,
      status: 0,
      forwarded: false,
      at: Date.now(),
    };
    log.push(entry);
    const covered = rule?.what === 'blobs' ? BLOB_PATH : MANIFEST_PATH;
    const r = rule !== undefined && covered.test(path.split('?')[0] ?? '') ? rule : undefined;
    if (r?.after) r.after -= 1;
    else if (r && r.count > 0) {
      r.count -= 1;
      if (r.status === 'close' || r.status === 'reset') {
        if (r.status === 'reset') req.socket.resetAndDestroy();
        else req.socket.destroy();
        return;
      }
      entry.status = r.status;
      const body = r.body ?? registryError(r.status);
      res.writeHead(r.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...r.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    entry.forwarded = true;
    const upstream = request(
      { host: target.host, port: target.port, method: req.method, path, headers: req.headers },
      (up) => {
        entry.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await getFreePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${port}`,
    log,
    fail: (r) => {
      rule = { ...r };
    },
    manifestRequests: (repo) =>
      log.filter((e) => MANIFEST_PATH.exec(e.path.split('?')[0] ?? '')?.[1] === repo),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
