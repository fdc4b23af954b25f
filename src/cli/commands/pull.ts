// `pull IMAGE [--policy missing|always|newer]`: StartPull, following the job through its handle with a progress
// bar or plain lines; Ctrl-C cancels the job.

import { CliError, toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type JobCallOutcome, progressOf, runJobCall } from '../job-tracker.js';
import { createProgressView } from '../progress-view.js';

export const PULL_POLICIES = ['missing', 'always', 'newer'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface PullOptions {
  policy: PullPolicy;
  json?: boolean;
  quiet?: boolean;
}

export async function runPull(ctx: CommandContext, image: string, opts: PullOptions): Promise<number> {
  const what = `cannot pull ${image}`;
  const showProgress = !opts.quiet;
  const view = showProgress
    ? createProgressView({
        title: `Pulling ${image}`,
        verb: 'pull',
        out: ctx.stderr,
        tty: ctx.stderr.isTTY === true,
      })
    : undefined;
  view?.update({ state: 'waiting', progress: -1, bytesDone: 0, bytesTotal: 0 });
  let outcome: JobCallOutcome<boolean>;
  try {
    outcome = await runJobCall(ctx.client, {
      member: 'StartPull',
      signature: 'ss',
      body: [image, opts.policy],
      decode: (fetched) => fetched === true,
      onUpdate: (job) => view?.update(progressOf(job)),
    });
  } catch (err) {
    view?.finish(false);
    throw toCliError(err, what, { member: 'Pull', noAskPassword: ctx.noAskPassword });
  }
  const jobId = outcome.job?.id ?? null;
  if (outcome.outcome === 'interrupted') {
    view?.finish(false);
    const job = jobId === null ? '' : ` (job ${jobId})`;
    const message = outcome.canceled
      ? `pull of ${image} canceled${job}`
      : `pull of ${image} interrupted${job}${outcome.note ? `: ${outcome.note}` : ''}`;
    throw new CliError(message, EXIT.INTERRUPTED);
  }
  const fetched = outcome.value;
  view?.finish(fetched);
  if (opts.json) {
    writeJson(ctx.stdout, { image, policy: opts.policy, fetched, job: jobId });
  } else if (fetched) {
    ctx.stdout.write(`Fetched ${image}\n`);
  } else if (opts.policy === 'newer') {
    ctx.stdout.write(`${image} is already up to date; nothing fetched\n`);
  } else {
    ctx.stdout.write(`${image} is already present; nothing fetched\n`);
  }
  return EXIT.OK;
}
