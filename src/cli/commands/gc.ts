// `gc [--dry-run]`: GarbageCollect(dry_run) removes every image no ostree deployment refers to (its bound
// images and host image); with --dry-run it only reports what it would remove. Ctrl-C cancels a real run.

import { callMethod } from '../bus-client.js';
import { CliError, toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type JobCallOutcome, runJobCall } from '../job-tracker.js';

export async function runGc(
  ctx: CommandContext,
  opts: { dryRun?: boolean; json?: boolean },
): Promise<number> {
  const dryRun = opts.dryRun === true;
  const call = async () => {
    const [ids] = (await callMethod(ctx.client, 'GarbageCollect', 'b', [dryRun])) as [string[]];
    return ids ?? [];
  };
  let removed: string[];
  try {
    if (dryRun) {
      // A dry run creates no job: nothing to follow or cancel.
      removed = await call();
    } else {
      const outcome: JobCallOutcome<string[]> = await runJobCall(ctx.client, {
        member: 'StartGarbageCollect',
        signature: 'b',
        body: [false],
        decode: (ids) => (Array.isArray(ids) ? (ids as string[]) : []),
      });
      if (outcome.outcome === 'interrupted') {
        const job = outcome.job ? ` (job ${outcome.job.id})` : '';
        throw new CliError(
          `garbage collection ${outcome.canceled ? 'canceled' : 'interrupted'}${job}; some images may already be gone${outcome.note ? `: ${outcome.note}` : ''}`,
          EXIT.INTERRUPTED,
        );
      }
      removed = outcome.value;
    }
  } catch (err) {
    throw toCliError(err, 'cannot collect garbage', {
      member: 'GarbageCollect',
      noAskPassword: ctx.noAskPassword,
    });
  }
  if (opts.json) {
    writeJson(ctx.stdout, { dryRun, removed });
  } else if (removed.length === 0) {
    ctx.stdout.write(dryRun ? 'Nothing would be removed.\n' : 'Nothing to remove.\n');
  } else {
    for (const id of removed) ctx.stdout.write(`${dryRun ? 'Would delete' : 'Deleted'} ${id}\n`);
  }
  return EXIT.OK;
}
