// A job in words: what it does, its state, the line under its bar, how it ended, and whether it can be canceled.
import { describeError } from './errors.js';
import { formatBytes, plural, shortDeployment } from './format.js';
import { isFinal, type Job } from './job-table.js';

const KIND_TITLES: Record<string, string> = {
  pull: 'Pull',
  'pull-from-host': 'Copy from host',
  remove: 'Remove',
  prune: 'Prune',
  gc: 'Garbage collection',
  sync: 'Pull bound images',
};

/** What a job does, in words: `Pull quay.io/x:1`, `Pull bound images of 0123456789ab.0`. */
export function jobTitle(job: Job): string {
  const kind = KIND_TITLES[job.kind] ?? job.kind;
  if (job.kind === 'gc') return kind;
  if (job.kind === 'sync') return job.target ? `${kind} of ${shortDeployment(job.target)}` : `${kind}`;
  const target = job.target.replace(/\b(?:sha256:)?([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1');
  return target ? `${kind} ${target}` : kind;
}

/** Percent done (0–100), or undefined while unknown; 100 once done. */
export function jobPercent(job: Job): number | undefined {
  if (job.state === 'done') return 100;
  if (job.progress < 0 || !Number.isFinite(job.progress)) return undefined;
  return Math.max(0, Math.min(100, Math.floor(job.progress * 100)));
}

const STATE_WORDS: Record<string, string> = {
  queued: 'Queued',
  running: 'Running',
  blocked: 'Waiting for the sysroot lock',
  done: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
};
/** A job's state in words. */
export const stateWord = (state: string) => STATE_WORDS[state] ?? state;

/** The line under a job's bar: bytes, layers, items, attempts; or how it ended. */
export function jobDetail(job: Job): string {
  if (job.state === 'failed' || (job.state === 'canceled' && job.errorName)) {
    return describeError(job.errorName, job.errorMessage);
  }
  if (job.state === 'done') return resultText(job);
  const parts: string[] = [];
  if (job.itemsTotal > 0) {
    const current = Math.min(job.itemsDone + 1, job.itemsTotal);
    parts.push(
      job.item
        ? `image ${current} of ${job.itemsTotal}: ${job.item}`
        : `${job.itemsDone} of ${job.itemsTotal}`,
    );
  }
  if (job.bytesTotal > 0) parts.push(`${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)}`);
  else if (job.bytesDone > 0) parts.push(formatBytes(job.bytesDone));
  if (job.layersTotal > 0)
    parts.push(`layer ${Math.min(job.layersDone, job.layersTotal)} of ${job.layersTotal}`);
  else if (job.layersDone > 0) parts.push(plural(job.layersDone, 'layer'));
  if (job.attempt > 1) parts.push(`attempt ${job.attempt}`);
  return parts.join(' · ');
}

/** A done job's Result in words. */
export function resultText(job: Job): string {
  const r = job.result;
  switch (job.kind) {
    case 'pull':
      return r === true ? 'Pulled' : r === false ? 'Already present' : 'Done';
    case 'sync':
      return Array.isArray(r)
        ? r.length
          ? `Pulled ${plural(r.length, 'image')}`
          : 'Nothing to pull'
        : 'Done';
    case 'remove':
    case 'prune':
    case 'gc':
      return Array.isArray(r) ? `Removed ${plural(r.length, 'image')}` : 'Done';
    default:
      return 'Done';
  }
}

/** Whether a job can still be canceled. */
export const cancelable = (job: Job) => ['queued', 'running', 'blocked'].includes(job.state);

/** How a job's bar is coloured: by how the job ended, or running. */
export type JobStatus = 'running' | 'success' | 'danger' | 'warning';

/** A job's bar colour: done green, failed red, canceled orange, otherwise running. */
export function jobStatus(job: Job): JobStatus {
  if (job.state === 'done') return 'success';
  if (job.state === 'failed') return 'danger';
  if (job.state === 'canceled') return 'warning';
  return 'running';
}

/**
 * Where a job's bar stands: undefined while unknown (queued, or no fraction yet: a moving bar), and a job that
 * failed or was canceled keeps where it stopped.
 */
export function barPercent(job: Job): number | undefined {
  if (job.state === 'queued') return undefined;
  const percent = jobPercent(job);
  return isFinal(job) && job.state !== 'done' ? Math.max(0, percent ?? 0) : percent;
}

/** The helper text under a job's bar: its detail, or why a queued job waits (`t`: the page's translation). */
export const jobHelper = (job: Job, t: (message: string) => string = (m) => m) =>
  jobDetail(job) || (job.state === 'queued' ? t('Waiting for other jobs') : '');

/** The deployments running syncs pull for (`''`: all of them), as one comparable key (a sorted JSON array). */
export function syncingKey(jobs: Job[]): string {
  const targets = new Set(jobs.filter((j) => j.kind === 'sync' && !isFinal(j)).map((j) => j.target));
  return JSON.stringify([...targets].sort());
}

/** Whether a running sync pulls a deployment's bound images, read from a syncingKey. */
export function isSyncing(key: string, deployment: string): boolean {
  const targets = JSON.parse(key) as string[];
  return targets.includes(deployment) || targets.includes('');
}
