// Runs a method that creates a job (Pull, Remove, Prune, GarbageCollect) and follows that job: subscribes to
// the daemon's signals before the call, learns the job's id from JobNew (matched by Kind, Target and Owner) or,
// for a call that joined an existing job, from ListJobs; reports its properties as they change; and turns
// Ctrl-C into CancelJob.

import type dbus from 'dbus-next';
import {
  applyJobProperties,
  callMethod,
  JOB_PATH_PREFIX,
  type JobProperties,
  listJobs,
  MESSAGE_TYPE_SIGNAL,
  PROPERTIES_IFACE,
  readJobProperties,
  STORAGE_IFACE,
  STORAGE_PATH,
  type StorageClient,
  subscribeToJobSignals,
} from './bus-client.js';

/** Which job the call will create: its Kind and, when predictable, its Target. */
export interface JobMatcher {
  kind: string;
  target?: string;
}

export type JobCallOutcome<T> =
  | { outcome: 'done'; value: T; job: JobProperties | undefined }
  | { outcome: 'interrupted'; job: JobProperties | undefined; canceled: boolean; note?: string };

/** After this long without a JobNew of ours, look for the job in ListJobs (a call that joined one). */
const LIST_JOBS_AFTER_MS = 400;
const LIST_JOBS_EVERY_MS = 500;
/** How long Ctrl-C waits to learn the job's id (to cancel it) before giving up on it. */
const INTERRUPT_GRACE_MS = 3_000;

export async function runJobCall<T>(
  client: StorageClient,
  opts: {
    match: JobMatcher;
    start: () => Promise<T>;
    onUpdate?: (job: JobProperties) => void;
    /** The signal source; tests and embedders may pass their own. */
    signals?: NodeJS.EventEmitter;
  },
): Promise<JobCallOutcome<T>> {
  await subscribeToJobSignals(client);
  const myUid = process.getuid?.() ?? -1;
  const signals = opts.signals ?? process;
  let job: JobProperties | undefined;
  let stopped = false;
  const reading = new Set<string>();
  let interrupted = false;
  let cancelState: 'none' | 'requested' | 'failed' = 'none';
  let cancelNote: string | undefined;
  let settleInterrupt: (() => void) | undefined;
  const interruptedEarly = new Promise<'interrupted'>((resolve) => {
    settleInterrupt = () => resolve('interrupted');
  });
  const timers: NodeJS.Timeout[] = [];

  const matches = (p: JobProperties) =>
    p.kind === opts.match.kind && (opts.match.target === undefined || p.target === opts.match.target);

  const adopt = (p: JobProperties) => {
    if (job) return;
    job = p;
    opts.onUpdate?.({ ...job });
    if (interrupted) void requestCancel();
  };

  const tryAdopt = async (path: string, requireOwner: boolean) => {
    if (job || reading.has(path)) return;
    reading.add(path);
    try {
      const p = await readJobProperties(client, path);
      if (p && !job && !stopped && matches(p) && (!requireOwner || p.owner === myUid)) adopt(p);
    } finally {
      reading.delete(path);
    }
  };

  const onMessage = (msg: dbus.Message) => {
    if (msg.type !== MESSAGE_TYPE_SIGNAL) return;
    if (msg.interface === STORAGE_IFACE && msg.path === STORAGE_PATH && msg.member === 'JobNew') {
      const [, path] = msg.body as [number, string];
      void tryAdopt(path, true);
      return;
    }
    if (
      job &&
      msg.interface === PROPERTIES_IFACE &&
      msg.member === 'PropertiesChanged' &&
      msg.path === `${JOB_PATH_PREFIX}${job.id}`
    ) {
      const [, changed] = msg.body as [string, Record<string, { value: unknown }>];
      const before = job.bytesDone;
      applyJobProperties(job, changed ?? {});
      job.bytesDone = Math.max(before, job.bytesDone);
      opts.onUpdate?.({ ...job });
    }
  };

  const requestCancel = async () => {
    if (!job || cancelState !== 'none') return;
    cancelState = 'requested';
    try {
      await callMethod(client, 'CancelJob', 'u', [job.id]);
    } catch (err) {
      const name = (err as { type?: string }).type ?? '';
      // NotFound: it ended meanwhile, and the call's own reply tells how.
      if (!name.endsWith('.NotFound')) {
        cancelState = 'failed';
        cancelNote = `job ${job.id} could not be canceled and keeps running: ${(err as { text?: string }).text ?? name}`;
        settleInterrupt?.();
      }
    }
  };

  const onSigint = () => {
    if (interrupted) {
      settleInterrupt?.();
      return;
    }
    interrupted = true;
    if (job) void requestCancel();
    timers.push(
      setTimeout(() => {
        if (cancelState === 'none') {
          cancelNote = 'the job was not seen yet and may still run';
          settleInterrupt?.();
        }
      }, INTERRUPT_GRACE_MS),
    );
  };

  client.bus.on('message', onMessage);
  signals.on('SIGINT', onSigint);
  const call = opts.start();
  // A call that joined an existing job sees no JobNew: find the job in ListJobs.
  const poll = async () => {
    if (job) return;
    try {
      for (const entry of await listJobs(client)) {
        if (job) break;
        if (
          entry.kind === opts.match.kind &&
          (opts.match.target === undefined || entry.target === opts.match.target)
        )
          await tryAdopt(entry.path, false);
      }
    } catch {
      // ListJobs is only a fallback; the call itself reports real failures.
    }
    if (!job && !stopped) timers.push(setTimeout(poll, LIST_JOBS_EVERY_MS));
  };
  timers.push(setTimeout(poll, LIST_JOBS_AFTER_MS));

  try {
    const first = await Promise.race([call.then((value) => ({ value })), interruptedEarly]);
    if (first === 'interrupted') {
      call.catch(() => undefined);
      return { outcome: 'interrupted', job, canceled: false, ...(cancelNote ? { note: cancelNote } : {}) };
    }
    return { outcome: 'done', value: first.value, job };
  } catch (err) {
    const name = (err as { type?: string }).type ?? '';
    if (interrupted && name === 'org.bootc.Storage.Error.Canceled') {
      return { outcome: 'interrupted', job, canceled: true };
    }
    throw err;
  } finally {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    client.bus.removeListener('message', onMessage);
    signals.removeListener('SIGINT', onSigint);
  }
}
