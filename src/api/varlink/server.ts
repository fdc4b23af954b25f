// The Varlink transport: org.bootc.Storage on top of the protocol server. It only parses (the protocol module
// checks every call against the IDL), calls the core, and maps results and errors onto the wire. No storage
// logic here, and no authorization: whoever can open the socket is trusted (see the IDL's "Access control").

import type { Logger } from 'pino';
import { type Job, toCount, viewJob, watchJob } from '../../core/job-view.js';
import type { StorageService } from '../../core/storage-service.js';
import { toStorageError, wireErrorName } from '../../errors.js';
import {
  permissionDenied,
  type VarlinkCall,
  VarlinkError,
  type VarlinkParams,
  VarlinkServer,
} from './protocol.js';
import { STORAGE_VARLINK_IDL } from './storage-idl.js';

export const VARLINK_INTERFACE = 'org.bootc.Storage';
/** Every job started over Varlink is owned by root: the caller's uid cannot be known (no SO_PEERCRED in Node). */
export const VARLINK_OWNER = 0;

export interface VarlinkStorageServerOptions {
  service: StorageService;
  version: string;
  log: Logger;
  /** GetInfo's url; empty by default. */
  url?: string;
  maxConnections?: number;
  maxMessageBytes?: number;
  /** Called when calls or connections start and end (idle-exit bookkeeping). */
  onActivity?: () => void;
}

/** The catalogue error (or anything thrown) as a Varlink error reply; `pulling` maps internal failures to PullFailed. */
export function mapErrorToVarlink(err: unknown, pulling: boolean): VarlinkError {
  if (err instanceof VarlinkError) return err;
  const e = toStorageError(err);
  const wire = wireErrorName(e, 'varlink', pulling);
  if (wire === 'org.varlink.service.PermissionDenied') return permissionDenied(e.message);
  return new VarlinkError(wire, { message: e.message }, e.message);
}

/** Builds the Varlink server for a core service; `server.server` is the net.Server to listen on. */
export function createVarlinkStorageServer(opts: VarlinkStorageServerOptions): VarlinkServer {
  const { service, log } = opts;

  /**
   * Waits for a job's result, or stops waiting when the caller's connection closes: the job runs on (a
   * disconnect never cancels), and there is nobody left to answer.
   */
  const awaitJob = async <T>(job: Job<T>, call: VarlinkCall): Promise<{ value: T } | undefined> => {
    if (call.signal.aborted) return undefined;
    let onAbort!: () => void;
    const gone = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      call.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const r = await Promise.race([job.result.then((value) => ({ value })), gone]);
      if (!r) log.info({ job: job.id, method: call.method }, 'varlink caller disconnected; the job runs on');
      return r;
    } finally {
      call.signal.removeEventListener('abort', onAbort);
    }
  };

  /** Oneway: the job is started (or joined) and left to run; its failure is only logged. */
  const detach = (what: Promise<unknown>, method: string) => {
    what.catch((err: unknown) =>
      log.info({ method, error: toStorageError(err).name }, 'varlink: oneway call failed'),
    );
  };

  // The one job projection every transport shares (core/job-view.ts).
  const progressOf = <T>(job: Job<T>) => {
    const v = viewJob(job);
    const { progress, bytesDone, bytesTotal, layersDone, layersTotal } = v;
    return { job: v.id, progress, bytesDone, bytesTotal, layersDone, layersTotal };
  };

  const methods: Record<string, (p: VarlinkParams, call: VarlinkCall) => Promise<VarlinkParams | undefined>> =
    {
      async Exists(p) {
        return { present: await service.exists(p.image as string) };
      },

      async List() {
        const images = await service.list();
        return {
          images: images.map((i) => ({
            id: i.id,
            names: i.names,
            digest: i.digest,
            size: toCount(i.size),
            created: Math.trunc(i.created),
          })),
        };
      },

      async Pull(p, call) {
        const job = service.pull(p.image as string, p.policy as string, VARLINK_OWNER);
        if (call.oneway) return void detach(job.result, call.method);
        let unwatch = () => undefined as void;
        if (call.more) {
          call.notify(progressOf(job)); // at once: the caller learns the job id
          // The core's one throttle: progress at most every 100 ms, as on D-Bus.
          unwatch = watchJob(job, () => {
            if (!job.finished) call.notify(progressOf(job));
          });
        }
        try {
          const r = await awaitJob(job, call);
          return r && { ...progressOf(job), fetched: r.value.fetched };
        } finally {
          unwatch();
        }
      },

      async PullFromHost(p, call) {
        const job = service.pullFromHost(p.image as string, VARLINK_OWNER);
        if (call.oneway) return void detach(job.result, call.method);
        return (await awaitJob(job, call)) && {};
      },

      async Remove(p, call) {
        const job = service.remove(p.images as string[], VARLINK_OWNER);
        if (call.oneway) return void detach(job.result, call.method);
        const r = await awaitJob(job, call);
        return r && { removedIds: r.value };
      },

      async Prune(p, call) {
        const job = service.prune(p.roots as string[], VARLINK_OWNER);
        if (call.oneway) return void detach(job.result, call.method);
        const r = await awaitJob(job, call);
        return r && { removedIds: r.value };
      },

      async GarbageCollect(p, call) {
        const collected = service.garbageCollect(p.dryRun as boolean, VARLINK_OWNER);
        if (call.oneway) return void detach(collected, call.method);
        return { removedIds: await collected };
      },

      async ListJobs() {
        return {
          jobs: service.listJobs().map(viewJob),
        };
      },

      async CancelJob(p, call) {
        const id = p.id as number;
        service.cancelJob(id);
        log.info({ job: id, by: 'varlink', connection: call.connection }, 'cancel requested');
        return {};
      },
    };

  return new VarlinkServer({
    vendor: 'bootc',
    product: 'bootc-storaged',
    version: opts.version,
    url: opts.url ?? '',
    interfaces: [{ description: STORAGE_VARLINK_IDL, methods }],
    maxConnections: opts.maxConnections,
    maxMessageBytes: opts.maxMessageBytes,
    overLimitError: new VarlinkError(`${VARLINK_INTERFACE}.Busy`, {
      message: 'too many Varlink connections; try again later',
    }),
    mapError: (err, method) => {
      const short = method.slice(method.lastIndexOf('.') + 1);
      const mapped = mapErrorToVarlink(err, short === 'Pull' || short === 'PullFromHost');
      log.info({ method: short, error: toStorageError(err).name, wire: mapped.error }, mapped.message);
      return mapped;
    },
    log,
    onActivity: opts.onActivity,
  });
}
