// The Varlink transport: org.bootc.Storage on top of the protocol server. One loop over the operations table
// (core/operations.ts): the protocol module checks each call's parameters against the entry's `in` fields
// (storage-interface.ts), the operation's schema parses them, polkit authorizes the peer process exactly as
// D-Bus callers are, and the result is projected. No storage logic here.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ACTION_READ, type ActionId } from '../../authz/actions.js';
import { type BoundPeer, bindPeer, loadPeerCredentials } from '../../authz/peer-cred.js';
import type { Authority } from '../../authz/polkit.js';
import { ReadGrants } from '../../authz/read-grants.js';
import type { ChangeFeed, ChangeKind } from '../../core/caller.js';
import { varlinkName } from '../../core/contract.js';
import { STREAMED_FIELDS } from '../../core/job-fields.js';
import { type Job, viewJob, watchJob } from '../../core/job-view.js';
import { type Caller, findOperation, type Operation } from '../../core/operations.js';
import type { StorageService } from '../../core/storage-service.js';
import { createError, toStorageError, wireErrorName } from '../../errors.js';

import type { AdmissionLimits } from './admission.js';
import {
  permissionDenied,
  type VarlinkCall,
  VarlinkError,
  type VarlinkParams,
  type VarlinkPeer,
  VarlinkServer,
} from './protocol.js';
import { storageInterface, VARLINK_INTERFACE } from './storage-interface.js';

export { VARLINK_INTERFACE };

export interface VarlinkStorageServerOptions {
  service: StorageService;
  /** polkit: every call is authorized as D-Bus calls are, the peer being its socket's process. */
  authority: Authority;
  version: string;
  log: Logger;
  /** polkit's yes to reads, shared with the D-Bus transport (authz/read-grants.ts); a new one if absent. */
  readGrants?: ReadGrants;
  /** GetInfo's url; empty by default. */
  url?: string;
  /** Connections and buffered input per uid (admission.ts). */
  limits?: Partial<AdmissionLimits>;
  maxMessageBytes?: number;
  idleTimeoutMs?: number;
  /** How a peer is bound at accept; bindPeer (SO_PEERCRED, SO_PEERPIDFD) unless a test passes its own. */
  bindPeer?: (socket: Socket) => BoundPeer;
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

/** A connection's peer as this transport keeps it: the bound process and its requester key. */
interface StoragePeer extends VarlinkPeer {
  readonly process: BoundPeer;
  /** The connection as a requester and as a holder of read grants: `varlink:<n>`, never reused. */
  readonly who: string;
}

/**
 * Builds the Varlink server for a core service; `server.server` is the net.Server to listen on. Resolves once
 * peers can be bound (koffi loaded), so every connection is identified the moment it is accepted.
 */
export async function createVarlinkStorageServer(opts: VarlinkStorageServerOptions): Promise<VarlinkServer> {
  const { service, log, authority } = opts;
  if (!opts.bindPeer) await loadPeerCredentials();
  const bind = opts.bindPeer ?? bindPeer;
  const grants = opts.readGrants ?? new ReadGrants();
  let nextPeer = 1;

  /** At accept: the peer's process, bound for the connection's life; its grants end with the connection. */
  const identify = (socket: Socket): StoragePeer => {
    const process = bind(socket);
    const who = `varlink:${nextPeer++}`;
    return {
      uid: process.uid,
      process,
      who,
      release: () => {
        grants.forget(who);
        process.release();
      },
    };
  };

  /**
   * The caller as the core sees it: the process that connected (bound at accept) is the polkit subject, with
   * the same action table and details as D-Bus, and only while it is still that process: a connection whose
   * connecting process has gone (its socket handed to another, its pid perhaps given to someone else) is
   * refused and closed, and its read grants go with it. Varlink has no interactive flag: a check that needs
   * a password is refused (InteractiveAuthorizationRequired → PermissionDenied).
   */
  const callerOf = (call: VarlinkCall): Caller => {
    const peer = call.peer as StoragePeer | undefined; // what identify returned for this connection
    if (!peer) throw createError('AccessDenied', 'the caller could not be identified');
    if (!peer.process.isCurrent()) {
      grants.forget(peer.who);
      call.close();
      log.warn(
        { connection: call.connection, pid: peer.process.pid, uid: peer.uid },
        'varlink: the process that connected has gone; closing its connection',
      );
      throw createError('AccessDenied', 'the process that opened this connection has gone');
    }
    const { process, who } = peer;
    const ask = (action: ActionId, details: Record<string, string>) => () =>
      authority.authorize({ process, action, details, interactive: false });
    return {
      who,
      uid: async () => process.uid,
      authorize: (action, details) =>
        action === ACTION_READ
          ? grants.authorize(who, details, ask(action, details))
          : ask(action, details)(),
    };
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

  // The one job projection every transport shares (core/job-view.ts), as a progress reply.
  const progressOf = (job: Job): VarlinkParams => {
    const v = viewJob(job) as unknown as VarlinkParams;
    return { job: v.id, ...Object.fromEntries(STREAMED_FIELDS.map((f) => [f.name, v[f.name]])) };
  };

  /**
   * A change feed (Watch), streamed: one reply saying the watch is armed, then one per change, until the
   * caller closes the connection (there is no final reply). The feed's kinds are the replies' events.
   */
  const streamChanges = (feed: ChangeFeed, call: VarlinkCall, op: Operation): Promise<undefined> =>
    new Promise((resolve) => {
      const onChange = (kind: ChangeKind) => call.notify(op.toVarlink(kind) as VarlinkParams);
      const end = () => {
        feed.off('change', onChange);
        resolve(undefined);
      };
      if (call.signal.aborted) return end();
      feed.on('change', onChange);
      call.notify(op.toVarlink('watching') as VarlinkParams);
      call.signal.addEventListener('abort', end, { once: true });
    });

  /** The one loop for every operation: parse, authorize, run, project (core/operations.ts). */
  const handle = async (op: Operation, p: VarlinkParams, call: VarlinkCall) => {
    const caller = callerOf(call);
    const parsed = op.input.safeParse(op.in.map((f) => p[varlinkName(f)]));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = op.in[Number(issue?.path[0])];
      throw createError(
        'InvalidArgument',
        `${op.name}${field ? ` (${varlinkName(field)})` : ''}: ${issue?.message ?? 'unexpected parameters'}`,
      );
    }
    const input = parsed.data;
    // Before anything is queued; an argument polkit would show is parsed first, so bad input never asks.
    if ('action' in op.access) await caller.authorize(op.access.action, op.details?.(input) ?? {});
    const outcome = await op.run(service, input, caller);
    if ('value' in outcome) return call.oneway ? undefined : op.toVarlink(outcome.value);
    if ('feed' in outcome) return streamChanges(outcome.feed, call, op);
    const { job } = outcome;
    if (call.oneway) return void detach(job.result, call.method);
    let unwatch: () => void = () => undefined;
    if (op.streams && call.more) {
      call.notify(progressOf(job)); // at once: the caller learns the job id
      // The core's one throttle: progress at most every 100 ms, as on D-Bus.
      unwatch = watchJob(job, () => {
        if (!job.finished) call.notify(progressOf(job));
      });
    }
    try {
      const r = await awaitJob(job, call, caller);
      return r && { ...(op.streams ? progressOf(job) : {}), ...op.toVarlink(r.value) };
    } finally {
      unwatch();
    }
  };

  return new VarlinkServer({
    vendor: 'bootc',
    product: 'bootc-storaged',
    version: opts.version,
    url: opts.url ?? '',
    interfaces: [storageInterface(handle)],
    limits: opts.limits,
    maxMessageBytes: opts.maxMessageBytes,
    idleTimeoutMs: opts.idleTimeoutMs,
    identify,
    overLimitError: new VarlinkError(`${VARLINK_INTERFACE}.Busy`, {
      message: 'too many Varlink connections; try again later',
    }),
    mapError: (err, method) => {
      const short = method.slice(method.lastIndexOf('.') + 1);
      const mapped = mapErrorToVarlink(err, findOperation(short, 'varlink')?.pulling === true);
      log.info({ method: short, error: toStorageError(err).name, wire: mapped.error }, mapped.message);
      return mapped;
    },
    log,
    onActivity: opts.onActivity,
  });
}
