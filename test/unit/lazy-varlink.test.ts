// The Varlink listener the daemon starts with (src/api/varlink/lazy-server.ts): the transport is loaded on the
// first connection only, every socket (those accepted while it loads too) reaches it with nothing lost, and
// close ends everything.

import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLazyVarlink } from '../../src/api/varlink/lazy-server.js';
import { listenVarlink } from '../../src/api/varlink/listen.js';
import { VarlinkServer } from '../../src/api/varlink/protocol.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('bsd-lazy-varlink-');
});
afterEach(() => tmp.remove());

const log = pino({ level: 'silent' });

function realServer(): VarlinkServer {
  return new VarlinkServer({ vendor: 'v', product: 'p', version: '1', url: '', interfaces: [], log });
}

/** Sends one call and resolves with the reply object. */
function callOnce(sock: Socket, method: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let got = '';
    sock.on('error', reject);
    sock.on('data', (d) => {
      got += d.toString();
      const end = got.indexOf('\0');
      if (end >= 0) resolve(JSON.parse(got.slice(0, end)) as Record<string, unknown>);
    });
    sock.write(`${JSON.stringify({ method })}\0`);
  });
}

it('loads the transport on the first connection only, and serves every connection with it', async () => {
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const lazy = createLazyVarlink(async () => {
    loads += 1;
    await gate; // still loading while two clients connect and send
    return realServer();
  }, log);
  const path = join(tmp.path, 'v.sock');
  await listenVarlink(lazy.server, path, undefined);
  expect(loads).toBe(0);
  expect(lazy.loaded).toBe(false);

  const a = connect(path);
  const b = connect(path);
  const replies = Promise.all([
    callOnce(a, 'org.varlink.service.GetInfo'),
    callOnce(b, 'org.varlink.service.GetInfo'),
  ]);
  await new Promise((r) => setTimeout(r, 50));
  expect(loads).toBe(1);
  expect(lazy.connections).toBe(2); // waiting sockets count, so the daemon does not idle-exit meanwhile
  release();
  const [ra, rb] = await replies;
  expect((ra.parameters as { product: string }).product).toBe('p');
  expect((rb.parameters as { product: string }).product).toBe('p');
  expect(lazy.loaded).toBe(true);

  const c = connect(path);
  await callOnce(c, 'org.varlink.service.GetInfo');
  expect(loads).toBe(1);
  expect(lazy.connections).toBe(3);
  for (const s of [a, b, c]) s.end();
  await lazy.close();
  expect(lazy.pendingCalls).toBe(0);
});

it('a transport that cannot be loaded closes the waiting connections and is tried once', async () => {
  let loads = 0;
  const lazy = createLazyVarlink(async () => {
    loads += 1;
    throw new Error('broken bundle');
  }, log);
  const path = join(tmp.path, 'v.sock');
  await listenVarlink(lazy.server, path, undefined);
  const s = connect(path);
  await new Promise<void>((resolve) => s.on('close', () => resolve()));
  expect(loads).toBe(1);
  expect(lazy.connections).toBe(0);
  await lazy.close();
});

it('closes without ever loading when nobody connected', async () => {
  let loads = 0;
  const lazy = createLazyVarlink(async () => {
    loads += 1;
    return realServer();
  }, log);
  await listenVarlink(lazy.server, join(tmp.path, 'v.sock'), undefined);
  await lazy.close();
  expect(loads).toBe(0);
});
