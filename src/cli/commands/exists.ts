// `exists IMAGE`: exit 0 when the image is in the store, 1 when it is not.

import { callMethod } from '../bus-client.js';
import { toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';

export async function runExists(
  ctx: CommandContext,
  image: string,
  opts: { json?: boolean; quiet?: boolean },
): Promise<number> {
  let present: boolean;
  try {
    [present] = (await callMethod(ctx.client, 'Exists', 's', [image])) as [boolean];
  } catch (err) {
    throw toCliError(err, `cannot check whether ${image} exists`, {
      member: 'Exists',
      noAskPassword: ctx.noAskPassword,
    });
  }
  if (opts.json) writeJson(ctx.stdout, { image, present });
  else if (!opts.quiet) ctx.stdout.write(`${image}: ${present ? 'present' : 'absent'}\n`);
  return present ? EXIT.OK : EXIT.FAILURE;
}
