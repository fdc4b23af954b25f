// `cancel ID`: CancelJob(ID). Replies as soon as cancellation is requested.

import { callMethod } from '../bus-client.js';
import { toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';

export async function runCancel(ctx: CommandContext, id: number, opts: { json?: boolean }): Promise<number> {
  try {
    await callMethod(ctx.client, 'CancelJob', 'u', [id]);
  } catch (err) {
    throw toCliError(err, `cannot cancel job ${id}`, {
      member: 'CancelJob',
      noAskPassword: ctx.noAskPassword,
    });
  }
  if (opts.json) writeJson(ctx.stdout, { id, cancelRequested: true });
  else ctx.stdout.write(`Requested cancellation of job ${id}\n`);
  return EXIT.OK;
}
