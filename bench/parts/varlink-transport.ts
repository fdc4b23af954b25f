// The Varlink transport built as on the first connection: the protocol, the org.bootc.Storage interface made
// from the operations table it shares with D-Bus (parameter checks compiled, no IDL parsed), and koffi for
// binding peers. The daemon loads it only then (src/api/varlink/lazy-server.ts).
import pino from 'pino';
import { createVarlinkStorageServer } from '../../src/api/varlink/server.js';

void createVarlinkStorageServer({
  service: {} as never,
  authority: {} as never,
  version: '0',
  log: pino({ level: 'silent' }),
}).then((server) => {
  (globalThis as { keep?: unknown }).keep = server;
});
