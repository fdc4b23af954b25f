// The Varlink listener the daemon starts with: a bare net.Server whose first connection loads the Varlink
// transport (protocol, the org.bootc.Storage loop over the operations table; server.ts) and hands every socket
// to it. Until a client connects, none of that code runs, so an idle daemon that is only used over D-Bus never
// pays for it (bench/memory.ts, "what each part costs"). Sockets accepted while it loads wait, their data
// buffered.

import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { VarlinkServer } from './protocol.js';

/** What the daemon needs of its Varlink server: the listener, the idle-exit counters and shutdown. */
export interface LazyVarlink {
  readonly server: Server;
  readonly pendingCalls: number;
  readonly connections: number;
  /** True once the transport code was loaded (first connection). */
  readonly loaded: boolean;
  close(): Promise<void>;
}

/** A listener that loads the real server with `load` when the first client connects. */
export function createLazyVarlink(load: () => Promise<VarlinkServer>, log: Logger): LazyVarlink {
  let real: VarlinkServer | undefined;
  let loading: Promise<VarlinkServer | undefined> | undefined;
  let closing = false;
  const waiting = new Set<Socket>();

  const loadOnce = () => {
    loading ??= load().then(
      (server) => {
        real = server;
        log.debug('varlink transport loaded');
        return server;
      },
      (err: unknown) => {
        log.error({ err: String(err) }, 'cannot load the Varlink transport');
        return undefined;
      },
    );
    return loading;
  };
  const hand = (socket: Socket) => {
    waiting.add(socket);
    void loadOnce().then((server) => {
      waiting.delete(socket);
      if (!server || closing) socket.destroy();
      else server.adopt(socket);
    });
  };

  // allowHalfOpen as the real server's own listener: a client may shut down its side and still get replies.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (closing) socket.destroy();
    else if (real) real.adopt(socket);
    else hand(socket);
  });
  server.on('error', (err) => log.error({ err: err.message }, 'varlink listener error'));

  return {
    server,
    get pendingCalls() {
      return real?.pendingCalls ?? 0;
    },
    get connections() {
      return waiting.size + (real?.connections ?? 0);
    },
    get loaded() {
      return real !== undefined;
    },
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of waiting) s.destroy();
      await Promise.all([closed, real?.close()]);
    },
  };
}
