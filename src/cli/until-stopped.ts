// How a long-running command (jobs --watch, watch) waits: until Ctrl-C or SIGTERM, or until the bus connection
// is lost, whichever comes first; the signal handlers are removed either way.

import type { CommandContext } from './context.js';

/** Resolves 'stopped' on SIGINT or SIGTERM, 'lost' when the client's bus connection closes. */
export async function untilStopped(ctx: CommandContext): Promise<'stopped' | 'lost'> {
  let onSignal: (() => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    onSignal = () => resolve('stopped');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    return await Promise.race([stopped, ctx.client.closed.then(() => 'lost' as const)]);
  } finally {
    if (onSignal) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
}
