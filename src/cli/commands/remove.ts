// `remove IMAGE…` and `prune --root IMAGE…`: both run as jobs; Ctrl-C cancels the job.

import { parseImageTarget, tryParseStoredName } from '../../storage/reference.js';
import { callMethod } from '../bus-client.js';
import { CliError, toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type JobCallOutcome, type JobMatcher, runJobCall } from '../job-tracker.js';

/** The Target the daemon gives the job, when every entry parses; undefined leaves the match to Kind. */
function predictTarget(entries: string[], parse: (entry: string) => string | undefined): string | undefined {
  const parts = entries.map(parse);
  return parts.every((p) => p !== undefined) ? parts.join(' ') : undefined;
}

function removeTarget(entry: string): string | undefined {
  try {
    const t = parseImageTarget(entry);
    return t.kind === 'id' ? t.id : t.ref.canonical;
  } catch {
    return undefined;
  }
}

async function runRemovalJob(
  ctx: CommandContext,
  member: 'Remove' | 'Prune',
  entries: string[],
  what: string,
  match: JobMatcher,
): Promise<string[]> {
  let outcome: JobCallOutcome<string[]>;
  try {
    outcome = await runJobCall(ctx.client, {
      match,
      start: async () => {
        const [ids] = (await callMethod(ctx.client, member, 'as', [entries])) as [string[]];
        return ids ?? [];
      },
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
  const target = predictTarget(images, removeTarget);
  const removed = await runRemovalJob(
    ctx,
    'Remove',
    images,
    `cannot remove ${images.join(' ')}`,
    target === undefined ? { kind: 'remove' } : { kind: 'remove', target },
  );
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
  const target = predictTarget(roots, (r) => tryParseStoredName(r)?.canonical);
  const removed = await runRemovalJob(
    ctx,
    'Prune',
    roots,
    'cannot prune',
    target === undefined ? { kind: 'prune' } : { kind: 'prune', target },
  );
  if (opts.json) {
    writeJson(ctx.stdout, { roots, removed });
  } else if (removed.length === 0) {
    ctx.stdout.write('Nothing to prune.\n');
  } else {
    for (const id of removed) ctx.stdout.write(`Deleted ${id}\n`);
  }
  return EXIT.OK;
}
