// `deployments`, `bound` and `sync [DEPLOYMENT]`: the ostree deployments with their roles, the images each
// binds and whether they are here, and a pull of the missing ones (one job, with a bar per image).

import { callMethod } from '../bus-client.js';
import { CliError, toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../format.js';
import { progressOf, runJobCall } from '../job-tracker.js';
import { createProgressView } from '../progress-view.js';

interface Deployment {
  deployment: string;
  role: string;
  hostImage: string;
}

async function fetchDeployments(ctx: CommandContext): Promise<Deployment[]> {
  const [list] = (await callMethod(ctx.client, 'ListDeployments')) as [[string, string, string][]];
  return (list ?? []).map(([deployment, role, hostImage]) => ({ deployment, role, hostImage }));
}

export async function runDeployments(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  let list: Deployment[];
  try {
    list = await fetchDeployments(ctx);
  } catch (err) {
    throw toCliError(err, 'cannot list deployments', {
      member: 'ListDeployments',
      noAskPassword: ctx.noAskPassword,
    });
  }
  if (opts.json) writeJson(ctx.stdout, list);
  else if (list.length === 0) ctx.stdout.write('No deployments.\n');
  else
    ctx.stdout.write(
      formatTable(
        ['DEPLOYMENT', 'ROLE', 'HOST IMAGE'],
        list.map((d) => [d.deployment, d.role, d.hostImage || '-']),
      ),
    );
  return EXIT.OK;
}

export async function runBound(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  let deployments: Deployment[];
  let bound: { image: string; deployment: string; file: string; present: boolean }[];
  try {
    deployments = await fetchDeployments(ctx);
    const [list] = (await callMethod(ctx.client, 'ListBoundImages')) as [[string, string, string, boolean][]];
    bound = (list ?? []).map(([image, deployment, file, present]) => ({ image, deployment, file, present }));
  } catch (err) {
    throw toCliError(err, 'cannot list bound images', {
      member: 'ListBoundImages',
      noAskPassword: ctx.noAskPassword,
    });
  }
  if (opts.json) {
    writeJson(
      ctx.stdout,
      deployments.map((d) => ({ ...d, images: bound.filter((b) => b.deployment === d.deployment) })),
    );
    return EXIT.OK;
  }
  if (deployments.length === 0) {
    ctx.stdout.write('No deployments.\n');
    return EXIT.OK;
  }
  const rows: string[][] = [];
  for (const d of deployments) {
    const mine = bound.filter((b) => b.deployment === d.deployment);
    if (mine.length === 0) rows.push([d.deployment, d.role, '(binds no image)', '', '']);
    for (const b of mine)
      rows.push([d.deployment, d.role, b.image, b.present ? 'present' : 'MISSING', b.file]);
  }
  ctx.stdout.write(formatTable(['DEPLOYMENT', 'ROLE', 'IMAGE', 'STATUS', 'FILE'], rows));
  const missing = new Set(bound.filter((b) => !b.present).map((b) => b.image));
  if (missing.size > 0)
    ctx.stdout.write(`${missing.size} bound image(s) missing; 'bootc-storagectl sync' pulls them.\n`);
  return EXIT.OK;
}

/**
 * `sync --pending`: the bound images of the update that is coming, so bootc finds them present: every pending
 * update (fetched, not deployed) and the staged deployment (`bootc upgrade --download-only` stages one, locked).
 * None is "not found": there is nothing to prepare.
 */
async function runSyncPending(
  ctx: CommandContext,
  opts: { json?: boolean; quiet?: boolean },
): Promise<number> {
  let pending: Deployment[];
  try {
    pending = (await fetchDeployments(ctx)).filter((d) => d.role === 'pending' || d.role === 'staged');
  } catch (err) {
    throw toCliError(err, 'cannot list deployments', {
      member: 'ListDeployments',
      noAskPassword: ctx.noAskPassword,
    });
  }
  if (pending.length === 0) {
    throw new CliError(
      'no pending or staged update: fetch one first (bootc upgrade --download-only), then sync --pending',
      EXIT.NOT_FOUND,
    );
  }
  for (const d of pending) await runSync(ctx, d.deployment, { ...opts, pending: false });
  return EXIT.OK;
}

export async function runSync(
  ctx: CommandContext,
  deployment: string | undefined,
  opts: { json?: boolean; quiet?: boolean; pending?: boolean },
): Promise<number> {
  if (opts.pending) {
    if (deployment !== undefined)
      throw new CliError('sync: give a deployment or --pending, not both', EXIT.USAGE);
    return runSyncPending(ctx, opts);
  }
  const which = deployment ?? '';
  const view = opts.quiet
    ? undefined
    : createProgressView({
        title: `Pulling the missing bound images of ${which === '' ? 'every deployment' : which}`,
        verb: 'sync',
        out: ctx.stderr,
        tty: ctx.stderr.isTTY === true,
      });
  view?.update({ state: 'waiting', progress: -1, bytesDone: 0, bytesTotal: 0 });
  let pulled: string[];
  try {
    const outcome = await runJobCall(ctx.client, {
      member: 'StartSyncBoundImages',
      signature: 's',
      body: [which],
      decode: (r) => (Array.isArray(r) ? (r as string[]) : []),
      onUpdate: (job) => view?.update(progressOf(job)),
    });
    if (outcome.outcome === 'interrupted') {
      view?.finish(false);
      const job = outcome.job ? ` (job ${outcome.job.id})` : '';
      throw new CliError(
        `sync ${outcome.canceled ? 'canceled' : 'interrupted'}${job}${outcome.note ? `: ${outcome.note}` : ''}`,
        EXIT.INTERRUPTED,
      );
    }
    pulled = outcome.value;
  } catch (err) {
    view?.finish(false);
    if (err instanceof CliError) throw err;
    throw toCliError(err, 'cannot sync bound images', {
      member: 'SyncBoundImages',
      noAskPassword: ctx.noAskPassword,
    });
  }
  view?.finish(true);
  if (opts.json) writeJson(ctx.stdout, { deployment: which, pulled });
  else if (pulled.length === 0) ctx.stdout.write('Every bound image is present; nothing pulled.\n');
  else for (const image of pulled) ctx.stdout.write(`Pulled ${image}\n`);
  return EXIT.OK;
}
