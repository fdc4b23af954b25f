// The Varlink transport: org.bootc.Storage on top of the protocol server. It only parses (the protocol module
// checks every call against the IDL), calls the core, and maps results and errors onto the wire. No storage
// logic here, and no authorization: whoever can open the socket is trusted (see the IDL's "Access control").

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ACTION_CANCEL_FOREIGN, ACTION_READ, lookupMethodPolicy } from '../../authz/actions.js';
import { type PeerProcess, readPeerProcess } from '../../authz/peer-cred.js';
import type { Authority } from '../../authz/polkit.js';
import { type Job, toCount, viewJob, watchJob } from '../../core/job-view.js';
import type { StorageService } from '../../core/storage-service.js';
import { polkitDetails } from '../../core/targets.js';
import { createError, toStorageError, wireErrorName } from '../../errors.js';

/** Who called: the peer's uid (the job's Owner), its requester key, and the process polkit is asked about. */
interface Caller {
  uid: number;
  who: string;
  process: PeerProcess;
}

import {
  permissionDenied,
  type VarlinkCall,
  VarlinkError,
  type VarlinkParams,
  VarlinkServer,
} from './protocol.js';
import { STORAGE_VARLINK_IDL } from './storage-idl.js';

export const VARLINK_INTERFACE = 'org.bootc.Storage';

export interface VarlinkStorageServerOptions {
  service: StorageService;
  /** polkit: every call is authorized as D-Bus calls are, the peer being its socket's process. */
  authority: Authority;
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
  const { service, log, authority } = opts;
  /** Each connection's peer, read once (SO_PEERCRED and its start time). */
  const peers = new WeakMap<Socket, Promise<PeerProcess>>();
  /** A positive read check is reused for 10 s per connection, as on D-Bus (reads are hot). */
  const readOk = new WeakMap<Socket, number>();

  /**
   * The same method→action table, details and polkit as D-Bus, with the peer process as the subject. Runs
   * before anything is queued; a method without an entry is denied. Varlink has no interactive flag: a
   * check that needs a password is refused (InteractiveAuthorizationRequired → PermissionDenied).
   */
  const authorizeCall = async (method: string, p: VarlinkParams, call: VarlinkCall): Promise<Caller> => {
    const policy = lookupMethodPolicy(method);
    if (!policy) throw createError('AccessDenied', `${method} is not allowed`);
    let peer = peers.get(call.socket);
    if (!peer) {
      peer = readPeerProcess(call.socket);
      peers.set(call.socket, peer);
    }
    const process = await peer;
    const caller = { uid: process.uid, who: `varlink:${call.connection}`, process };
    if (!('action' in policy)) return caller;
    const details = polkitDetails(method, p.image ?? p.images ?? p.roots);
    if (policy.action === ACTION_READ && (readOk.get(call.socket) ?? 0) > Date.now()) return caller;
    await authority.authorize({ process, action: policy.action, details, interactive: false });
    if (policy.action === ACTION_READ) readOk.set(call.socket, Date.now() + 10_000);
    return caller;
  };

  /**
   * Waits for a job's result, or stops waiting when the caller's connection closes: the job runs on (a
   * disconnect never cancels), and there is nobody left to answer.
   */
  const awaitJob = async <T>(
    job: Job<T>,
    call: VarlinkCall,
    caller: Caller,
  ): Promise<{ value: T } | undefined> => {
    if (call.signal.aborted) return undefined;
    let onAbort!: () => void;
    const gone = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      call.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // This caller's view of the result: Canceled as soon as it withdraws from a job others still want.
      const r = await Promise.race([job.resultFor(caller.who).then((value) => ({ value })), gone]);
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

  type Handler = (p: VarlinkParams, call: VarlinkCall, caller: Caller) => Promise<VarlinkParams | undefined>;
  const methods: Record<string, Handler> = {
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

    async Pull(p, call, caller) {
      const job = service.pull(p.image as string, p.policy as string, caller.uid, caller.who);
      if (call.oneway) return void detach(job.result, call.method);
      let unwatch: () => void = () => undefined;
      if (call.more) {
        call.notify(progressOf(job)); // at once: the caller learns the job id
        // The core's one throttle: progress at most every 100 ms, as on D-Bus.
        unwatch = watchJob(job, () => {
          if (!job.finished) call.notify(progressOf(job));
        });
      }
      try {
        const r = await awaitJob(job, call, caller);
        return r && { ...progressOf(job), fetched: r.value.fetched };
      } finally {
        unwatch();
      }
    },

    async PullFromHost(p, call, caller) {
      const job = service.pullFromHost(p.image as string, caller.uid, caller.who);
      if (call.oneway) return void detach(job.result, call.method);
      return (await awaitJob(job, call, caller)) && {};
    },

    async Remove(p, call, caller) {
      const job = service.remove(p.images as string[], caller.uid, caller.who);
      if (call.oneway) return void detach(job.result, call.method);
      const r = await awaitJob(job, call, caller);
      return r && { removedIds: r.value };
    },

    async Prune(p, call, caller) {
      const job = service.prune(p.roots as string[], caller.uid, caller.who);
      if (call.oneway) return void detach(job.result, call.method);
      const r = await awaitJob(job, call, caller);
      return r && { removedIds: r.value };
    },

    async GarbageCollect(p, call, caller) {
      const collected = service.garbageCollect(p.dryRun as boolean, caller.uid, caller.who);
      if (call.oneway) return void detach(collected, call.method);
      return { removedIds: await collected };
    },

    async ListJobs() {
      return {
        jobs: service.listJobs().map(viewJob),
      };
    },

    async CancelJob(p, call, caller) {
      const id = p.id as number;
      const job = service.getJob(id);
      // As on D-Bus: a caller of the job withdraws itself; anyone else needs cancel-foreign.
      if (job.isWantedBy(caller.uid, caller.who)) {
        const stopped = job.withdraw(caller.uid, caller.who);
        log.info({ job: id, by: caller.uid, connection: call.connection, stopped }, 'cancel requested');
        return {};
      }
      await authority.authorize({
        process: caller.process,
        action: ACTION_CANCEL_FOREIGN,
        details: { job: String(id) },
        interactive: false,
      });
      job.cancel();
      log.info(
        { job: id, by: caller.uid, connection: call.connection },
        'cancel requested (for every caller)',
      );
      return {};
    },
  };

  return new VarlinkServer({
    vendor: 'bootc',
    product: 'bootc-storaged',
    version: opts.version,
    url: opts.url ?? '',
    interfaces: [
      {
        description: STORAGE_VARLINK_IDL,
        // Every method is authorized first (authorizeCall), then handled with the caller it names.
        methods: Object.fromEntries(
          Object.entries(methods).map(([name, handler]) => [
            name,
            async (p: VarlinkParams, call: VarlinkCall) =>
              handler(p, call, await authorizeCall(name, p, call)),
          ]),
        ),
      },
    ],
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
