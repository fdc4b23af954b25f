// A TCP proxy that throttles registry responses (bytes per second), so a pull stays "in flight" long enough
// to read, cancel or kill around it. It can also stall: accept connections and never answer.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { getFreePort } from './ports.js';

export interface SlowProxy {
  host: string;
  /** Bytes per second from registry to client; 0 stalls completely. */
  setRate(bytesPerSecond: number): void;
  close(): Promise<void>;
}

export async function startSlowProxy(
  target: { host: string; port: number },
  bytesPerSecond: number,
): Promise<SlowProxy> {
  let rate = bytesPerSecond;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream);
    // Throttle the response direction in 10 ms slices.
    const queue: Buffer[] = [];
    let ended = false;
    upstream.on('data', (d: Buffer) => {
      queue.push(d);
      upstream.pause();
    });
    upstream.on('end', () => {
      ended = true;
    });
    const timer = setInterval(() => {
      let budget = rate === 0 ? 0 : Math.max(1, Math.floor(rate / 100));
      while (budget > 0 && queue.length > 0) {
        const head = queue[0]!;
        const part = head.subarray(0, budget);
        client.write(part);
        budget -= part.length;
        if (part.length === head.length) queue.shift();
        else queue[0] = head.subarray(part.length);
      }
      if (queue.length === 0) {
        if (ended) {
          client.end();
          clearInterval(timer);
        } else upstream.resume();
      }
    }, 10);
    const stop = () => {
      clearInterval(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', stop);
    upstream.on('error', stop);
    client.on('close', stop);
  });
  const port = await getFreePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${port}`,
    setRate: (b) => {
      rate = b;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
