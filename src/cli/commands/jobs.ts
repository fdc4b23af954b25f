// `jobs [--watch]`: the daemon's queued and running jobs, once or live until Ctrl-C. The watch believes only
// signals whose sender owns org.bootc.Storage now (anyone may send a signal to our unique name); when the owner
// changes, the jobs shown were the old daemon's, so it starts over from the new one's list.

import type dbus from 'dbus-next';
import {
  applyJobProperties,
  JOB_PATH_PREFIX,
  listJobs,
  MESSAGE_TYPE_SIGNAL,
  PROPERTIES_IFACE,
  readJobProperties,
  STORAGE_IFACE,
  STORAGE_PATH,
  subscribeToJobSignals,
} from '../bus-client.js';
import { toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatPercent, formatTable } from '../format.js';
import { type NameOwnerWatch, watchNameOwner } from '../name-owner.js';
import { untilStopped } from '../until-stopped.js';

export interface JobInfo {
  id: number;
  kind: string;
  target: string;
  state: string;
  path: string;
  /** 0–1, or null while unknown. */
  progress: number | null;
  bytesDone: number;
  bytesTotal: number;
  /** uid of the job's creator; null when the job ended before it could be read. */
  owner: number | null;
}

const TTY_REDRAW_MS = 250;
const PLAIN_REDRAW_MS = 1_000;

function toJobInfo(
  entry: { id: number; kind: string; target: string; state: string; path: string },
  props?: Partial<{ progress: number; bytesDone: number; bytesTotal: number; owner: number; state: string }>,
): JobInfo {
  const progress = props?.progress ?? -1;
  return {
    id: entry.id,
    kind: entry.kind,
    target: entry.target,
    state: props?.state ?? entry.state,
    path: entry.path,
    progress: progress >= 0 ? progress : null,
    bytesDone: props?.bytesDone ?? 0,
    bytesTotal: props?.bytesTotal ?? 0,
    owner: props?.owner ?? null,
  };
}

export async function fetchJobs(ctx: CommandContext): Promise<JobInfo[]> {
  const entries = await listJobs(ctx.client);
  return Promise.all(entries.map(async (e) => toJobInfo(e, await readJobProperties(ctx.client, e.path))));
}

function describeProgress(job: JobInfo): string {
  const parts: string[] = [];
  if (job.progress !== null) parts.push(formatPercent(job.progress));
  if (job.bytesTotal > 0) parts.push(`${formatBytes(job.bytesDone)}/${formatBytes(job.bytesTotal)}`);
  else if (job.bytesDone > 0) parts.push(formatBytes(job.bytesDone));
  return parts.length > 0 ? parts.join(' ') : '-';
}

export function formatJobsTable(jobs: readonly JobInfo[]): string {
  if (jobs.length === 0) return 'No jobs.\n';
  return formatTable(
    ['ID', 'KIND', 'STATE', 'PROGRESS', 'OWNER', 'TARGET'],
    jobs.map((j) => [
      String(j.id),
      j.kind,
      j.state,
      describeProgress(j),
      j.owner === null ? '-' : String(j.owner),
      j.target,
    ]),
  );
}

export async function runJobs(
  ctx: CommandContext,
  opts: { json?: boolean; watch?: boolean },
): Promise<number> {
  if (opts.watch) return watchJobs(ctx, opts);
  let jobs: JobInfo[];
  try {
    jobs = await fetchJobs(ctx);
  } catch (err) {
    throw toCliError(err, 'cannot list jobs', { member: 'ListJobs', noAskPassword: ctx.noAskPassword });
  }
  if (opts.json) writeJson(ctx.stdout, jobs);
  else ctx.stdout.write(formatJobsTable(jobs));
  return EXIT.OK;
}

/** Follows JobNew, PropertiesChanged and JobRemoved and redraws until SIGINT; exits 0 then. */
async function watchJobs(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const jobs = new Map<number, JobInfo>();
  const gone = new Set<number>();
  const tty = ctx.stdout.isTTY === true && !opts.json;
  let lastOutput = '';
  let timer: NodeJS.Timeout | undefined;

  const render = () => {
    timer = undefined;
    const list = [...jobs.values()].sort((a, b) => a.id - b.id);
    if (opts.json) {
      const line = `${JSON.stringify(list)}\n`;
      if (line !== lastOutput) ctx.stdout.write(line);
      lastOutput = line;
      return;
    }
    const table = formatJobsTable(list);
    if (table === lastOutput) return;
    lastOutput = table;
    const stamp = new Date().toLocaleTimeString();
    if (tty) ctx.stdout.write(`\x1b[H\x1b[2JJobs at ${stamp} (Ctrl-C to stop)\n\n${table}`);
    else ctx.stdout.write(`-- ${stamp}\n${table}`);
  };
  const scheduleRender = () => {
    if (!timer) timer = setTimeout(render, tty ? TTY_REDRAW_MS : opts.json ? TTY_REDRAW_MS : PLAIN_REDRAW_MS);
  };

  /** Counts changes of owner: an answer asked of an earlier owner is dropped. */
  let generation = 0;
  const learn = async (path: string) => {
    const asked = generation;
    const props = await readJobProperties(ctx.client, path);
    if (!props || asked !== generation || gone.has(props.id) || jobs.has(props.id)) return;
    jobs.set(props.id, toJobInfo({ ...props, path }, props));
    scheduleRender();
  };
  const addAll = (list: JobInfo[]) => {
    for (const job of list) if (!gone.has(job.id) && !jobs.has(job.id)) jobs.set(job.id, job);
  };

  let owner: NameOwnerWatch | undefined;
  const onMessage = (msg: dbus.Message) => {
    if (msg.type !== MESSAGE_TYPE_SIGNAL || !owner?.isFromOwner(msg)) return;
    if (msg.interface === STORAGE_IFACE && msg.path === STORAGE_PATH) {
      if (msg.member === 'JobNew') void learn((msg.body as [number, string])[1]);
      if (msg.member === 'JobRemoved') {
        const [id] = msg.body as [number];
        gone.add(id);
        jobs.delete(id);
        scheduleRender();
      }
      return;
    }
    if (
      msg.interface === PROPERTIES_IFACE &&
      msg.member === 'PropertiesChanged' &&
      msg.path.startsWith(JOB_PATH_PREFIX)
    ) {
      const id = Number(msg.path.slice(JOB_PATH_PREFIX.length));
      const job = jobs.get(id);
      if (!job) {
        if (!gone.has(id)) void learn(msg.path);
        return;
      }
      const [, changed] = msg.body as [string, Record<string, { value: unknown }>];
      const p = applyJobProperties({}, changed ?? {});
      if (p.state !== undefined) job.state = p.state;
      if (p.progress !== undefined) job.progress = p.progress >= 0 ? p.progress : null;
      if (p.bytesDone !== undefined) job.bytesDone = p.bytesDone;
      if (p.bytesTotal !== undefined) job.bytesTotal = p.bytesTotal;
      scheduleRender();
    }
  };

  const onOwnerChange = (_previous: string, current: string) => {
    generation += 1;
    jobs.clear();
    gone.clear();
    scheduleRender();
    if (current === '') return;
    const asked = generation;
    fetchJobs(ctx).then(
      (list) => {
        if (asked !== generation) return;
        addAll(list);
        scheduleRender();
      },
      () => undefined,
    );
  };

  let stopOwnerWatch: () => unknown = () => undefined;
  try {
    await subscribeToJobSignals(ctx.client);
    owner = await watchNameOwner(ctx.client);
    stopOwnerWatch = owner.onChange(onOwnerChange);
    ctx.client.bus.on('message', onMessage);
    const asked = generation;
    const list = await fetchJobs(ctx);
    if (asked === generation) addAll(list);
  } catch (err) {
    stopOwnerWatch();
    owner?.close();
    ctx.client.bus.removeListener('message', onMessage);
    throw toCliError(err, 'cannot watch jobs', { member: 'ListJobs', noAskPassword: ctx.noAskPassword });
  }
  render();
  const why = await untilStopped(ctx);
  if (timer) clearTimeout(timer);
  stopOwnerWatch();
  owner.close();
  ctx.client.bus.removeListener('message', onMessage);
  if (tty) ctx.stdout.write('\n');
  if (why === 'lost')
    throw toCliError(new Error('the connection to the system bus was lost'), 'cannot watch jobs');
  return EXIT.OK;
}
