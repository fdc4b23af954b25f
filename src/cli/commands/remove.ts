// `remove IMAGE…` and `prune --root IMAGE…`: both run as jobs; Ctrl-C cancels the job.

import { CliError, toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type JobCallOutcome, runJobCall } from '../job-tracker.js';

async function runRemovalJob(
  ctx: CommandContext,
  member: 'Remove' | 'Prune',
  entries: string[],
  what: string,
): Promise<string[]> {
  let outcome: JobCallOutcome<string[]>;
  try {
    outcome = await runJobCall(ctx.client, {
      member: `Start${member}`,
      signature: 'as',
      body: [entries],
      decode: (ids) => (Array.isArray(ids) ? (ids as string[]) : []),
    });
  } catch (err) {
    throw toCliError(err, what, { member, noAskPassword: ctx.noAskPassword });
  }
  if (outcome.outcome === 'interrupted') {
    const job = outcome.job ? ` (job ${outcome.job.id})` : '';
    throw new CliError(
      `${member.toLowerCase()} ${outcome.canceled ? 'canceled' : 'interrupted'}${job}; some images may already be gone${outcome.note ? `: ${outcome.note}` : ''}`,
      EXIT.INTERRUPTED,
    );
  }
  return outcome.value;
}

export async function runRemove(
  ctx: CommandContext,
  images: string[],
  opts: { json?: boolean },
): Promise<number> {
  const removed = await runRemovalJob(ctx, 'Remove', images, `cannot remove ${images.join(' ')}`);
  if (opts.json) {
    writeJson(ctx.stdout, { requested: images, removed });
  } else if (removed.length === 0) {
    ctx.stdout.write('Untagged; no image was deleted (the images keep other names).\n');
  } else {
    for (const id of removed) ctx.stdout.write(`Deleted ${id}\n`);
  }
  return EXIT.OK;
}

export async function runPrune(
  ctx: CommandContext,
  roots: string[],
  opts: { json?: boolean },
): Promise<number> {
  const removed = await runRemovalJob(ctx, 'Prune', roots, 'cannot prune');
  if (opts.json) {
    writeJson(ctx.stdout, { roots, removed });
  } else if (removed.length === 0) {
    ctx.stdout.write('Nothing to prune.\n');
  } else {
    for (const id of removed) ctx.stdout.write(`Deleted ${id}\n`);
  }
  return EXIT.OK;
}
