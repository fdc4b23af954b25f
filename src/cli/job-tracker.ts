// Runs a job through its handle and follows it: calls a Start method (StartPull, StartRemove…), which replies
// with the job's id and object at once (no guessing which JobNew is ours), reads the object's properties,
// follows its PropertiesChanged until State is final, and returns its Result, or throws its ErrorName as the
// blocking call would have. Ctrl-C asks CancelJob (which withdraws only this caller from a shared job).
// Only the daemon that answered the Start call speaks for the job: a signal from any other sender (anyone may
// send one to our unique name, past every match rule) is ignored, and when that daemon leaves the bus or
// another takes org.bootc.Storage while the job is followed, the job is lost and the call fails saying so.

import type dbus from 'dbus-next';
import {
  applyJobProperties,
  callForReply,
  callMethod,
  type JobProperties,
  MESSAGE_TYPE_SIGNAL,
  PROPERTIES_IFACE,
  readJobSnapshot,
  type StorageClient,
  subscribeToJobSignals,
} from './bus-client.js';
import { watchNameOwner } from './name-owner.js';
import type { ProgressSnapshot } from './progress-view.js';

/** What a progress view shows of a job. */
export function progressOf(job: JobProperties): ProgressSnapshot {
  return {
    state: job.state,
    jobId: job.id,
    progress: job.progress,
    bytesDone: job.bytesDone,
    bytesTotal: job.bytesTotal,
    layersDone: job.layersDone ?? 0,
    layersTotal: job.layersTotal ?? 0,
    attempt: job.attempt ?? 1,
    itemsDone: job.itemsDone ?? 0,
    itemsTotal: job.itemsTotal ?? 0,
  };
}

export type JobCallOutcome<T> =
  | { outcome: 'done'; value: T; job: JobProperties | undefined }
  | { outcome: 'interrupted'; job: JobProperties | undefined; canceled: boolean; note?: string };

/** How long Ctrl-C waits for the Start call to reply (to learn the job to cancel) before giving up. */
const INTERRUPT_GRACE_MS = 3_000;
const FINAL = new Set(['done', 'failed', 'canceled']);

/** Why: the daemon that ran a followed job is gone (or replaced), so nobody can say how the job ended. */
export class JobLost extends Error {
  override readonly name = 'JobLost';
}

type End =
  | { end: 'final' }
  | { end: 'interrupted'; canceled: boolean; note?: string }
  | { end: 'lost'; why: string };

/** A job's failure as the blocking call would have answered it: dbus-next's DBusError shape. */
class JobFailed extends Error {
  constructor(
    readonly type: string,
    readonly text: string,
  ) {
    super(text);
  }
}

export async function runJobCall<T>(
  client: StorageClient,
  opts: {
    /** The Start method and its arguments. */
    member: string;
    signature: string;
    body: unknown[];
    /** The job's Result (a variant's value) as the command wants it. */
    decode: (result: unknown) => T;
    onUpdate?: (job: JobProperties) => void;
    /** The signal source; tests and embedders may pass their own. */
    signals?: NodeJS.EventEmitter;
  },
): Promise<JobCallOutcome<T>> {
  // Before the call, so no change of the job can pass unseen between its reply and our first read.
  await subscribeToJobSignals(client);
  const owner = await watchNameOwner(client);
  const signals = opts.signals ?? process;
  let job: JobProperties | undefined;
  let path: string | undefined;
  /** The unique name that answered the Start call: the one sender whose word about the job counts. */
  let daemon: string | undefined;
  /**
   * Signals that came while the first full read was under way: the daemon sends in order, so those with a
   * serial above its reply's are newer than what it read, the others older. (The reply's continuation runs
   * after dbus-next has dispatched the messages parsed with it, so order is decided by serial, not arrival.)
   */
  let early: dbus.Message[] | undefined = [];
  let settle!: (r: End) => void;
  const ended = new Promise<End>((resolve) => {
    settle = resolve;
  });
  let interrupted = false;
  const timers: NodeJS.Timeout[] = [];

  const update = (changed: Record<string, { value: unknown }>) => {
    // A final State is final: nothing older may overwrite what the job ended with.
    if (!job || FINAL.has(job.state)) return;
    const before = job.bytesDone;
    applyJobProperties(job, changed);
    job.bytesDone = Math.max(before, job.bytesDone);
    opts.onUpdate?.({ ...job });
    if (FINAL.has(job.state)) settle({ end: 'final' });
  };

  const onMessage = (msg: dbus.Message) => {
    if (msg.type !== MESSAGE_TYPE_SIGNAL || !path || msg.path !== path) return;
    // The match rules' sender= filters broadcasts only; a signal sent to us directly comes from anyone.
    if (daemon === undefined || msg.sender !== daemon) return;
    if (msg.interface === PROPERTIES_IFACE && msg.member === 'PropertiesChanged') {
      if (early) return void early.push(msg);
      const [, changed] = msg.body as [string, Record<string, { value: unknown }>];
      update(changed ?? {});
    }
  };

  const cancel = async (id: number) => {
    try {
      await callMethod(client, 'CancelJob', 'u', [id]);
      settle({ end: 'interrupted', canceled: true });
    } catch (err) {
      const name = (err as { type?: string }).type ?? '';
      // NotFound: it ended meanwhile; its final state tells how.
      if (!name.endsWith('.NotFound')) {
        const text = (err as { text?: string }).text ?? name;
        settle({
          end: 'interrupted',
          canceled: false,
          note: `job ${id} could not be canceled and keeps running: ${text}`,
        });
      }
    }
  };

  const onSigint = () => {
    if (interrupted) return settle({ end: 'interrupted', canceled: false });
    interrupted = true;
    if (job) return void cancel(job.id);
    timers.push(
      setTimeout(
        () =>
          settle({
            end: 'interrupted',
            canceled: false,
            note: 'the job was not started yet and may still run',
          }),
        INTERRUPT_GRACE_MS,
      ),
    );
  };

  const stopOwnerWatch = owner.onChange((_previous, current) => {
    if (daemon === undefined || current === daemon) return;
    settle({
      end: 'lost',
      why:
        current === ''
          ? `bootc-storaged (${daemon}) left the bus while it ran`
          : `org.bootc.Storage passed from ${daemon} to ${current} while it ran`,
    });
  });
  void client.closed.then(() => settle({ end: 'lost', why: 'the connection to the system bus was lost' }));

  client.bus.on('message', onMessage);
  signals.on('SIGINT', onSigint);
  try {
    const reply = await callForReply(client, opts.member, opts.signature, opts.body);
    const [id, jobPath] = (reply.body ?? []) as [number, string];
    // The bus daemon sets a reply's sender: the owner the call was routed to. If the name has another owner
    // (or none) by now, the daemon that queued the job is gone already.
    if (!reply.sender || reply.sender !== owner.owner)
      throw new JobLost(`job ${id} was lost: bootc-storaged left the bus as it answered ${opts.member}`);
    daemon = reply.sender;
    path = jobPath;
    const read = await readJobSnapshot(client, jobPath);
    const snapshot = read?.sender === daemon ? read : undefined;
    if (read && !snapshot)
      settle({ end: 'lost', why: `its properties were answered by ${read.sender}, not ${daemon}` });
    job = snapshot?.props ?? {
      id,
      kind: '',
      target: '',
      state: 'queued',
      progress: -1,
      bytesDone: 0,
      bytesTotal: 0,
      owner: -1,
    };
    const newer = (early ?? []).filter((m) => snapshot === undefined || Number(m.serial) > snapshot.serial);
    early = undefined;
    opts.onUpdate?.({ ...job });
    if (FINAL.has(job.state)) settle({ end: 'final' });
    for (const m of newer) update((m.body as [string, Record<string, { value: unknown }>])[1] ?? {});
    if (interrupted) void cancel(id);
    const end = await ended;
    if (end.end === 'lost') throw new JobLost(`job ${id} was lost: ${end.why}; how it ended is unknown`);
    if (end.end === 'interrupted')
      return { outcome: 'interrupted', job, canceled: end.canceled, note: end.note };
    if (job.state === 'done') return { outcome: 'done', value: opts.decode(job.result), job };
    if (interrupted && job.state === 'canceled') return { outcome: 'interrupted', job, canceled: true };
    throw new JobFailed(job.errorName || 'org.bootc.Storage.Error.StorageFailure', job.errorMessage ?? '');
  } finally {
    stopOwnerWatch();
    owner.close();
    for (const t of timers) clearTimeout(t);
    client.bus.removeListener('message', onMessage);
    signals.removeListener('SIGINT', onSigint);
  }
}
