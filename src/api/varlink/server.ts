// The Varlink transport: org.bootc.Storage on top of the protocol server. One loop over the operations table
// (core/operations.ts): the protocol module checks each call against the IDL, the operation's schema parses
// it, polkit authorizes the peer process exactly as D-Bus callers are, and the result is projected. No
// storage logic here.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ACTION_READ } from '../../authz/actions.js';
import { type PeerProcess, readPeerProcess } from '../../authz/peer-cred.js';
import type { Authority } from '../../authz/polkit.js';
import { varlinkName } from '../../core/contract.js';
import { STREAMED_FIELDS } from '../../core/job-fields.js';
import { type Job, viewJob, watchJob } from '../../core/job-view.js';
import { type Caller, findOperation, type Operation, operationsOf } from '../../core/operations.js';
import type { StorageService } from '../../core/storage-service.js';
import { createError, toStorageError, wireErrorName } from '../../errors.js';

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
   * The caller as the core sees it: the peer process (SO_PEERCRED and its start time, read once per
   * connection) is the polkit subject, with the same action table and details as D-Bus. Varlink has no
   * interactive flag: a check that needs a password is refused (InteractiveAuthorizationRequired →
   * PermissionDenied).
   */
  const callerOf = async (call: VarlinkCall): Promise<Caller> => {
    let peer = peers.get(call.socket);
    if (!peer) {
      peer = readPeerProcess(call.socket);
      peers.set(call.socket, peer);
    }
    const process = await peer;
    return {
      who: `varlink:${call.connection}`,
      uid: async () => process.uid,
      authorize: async (action, details) => {
        if (action === ACTION_READ && (readOk.get(call.socket) ?? 0) > Date.now()) return;
        await authority.authorize({ process, action, details, interactive: false });
        if (action === ACTION_READ) readOk.set(call.socket, Date.now() + 10_000);
      },
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

  /** The one loop for every operation: parse, authorize, run, project (core/operations.ts). */
  const handle = async (op: Operation, p: VarlinkParams, call: VarlinkCall) => {
    const caller = await callerOf(call);
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
    interfaces: [
      {
        description: STORAGE_VARLINK_IDL,
        methods: Object.fromEntries(
          operationsOf('varlink').map((op) => [
            op.name,
            (p: VarlinkParams, call: VarlinkCall) => handle(op, p, call),
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
      const mapped = mapErrorToVarlink(err, findOperation(short, 'varlink')?.pulling === true);
      log.info({ method: short, error: toStorageError(err).name, wire: mapped.error }, mapped.message);
      return mapped;
    },
    log,
    onActivity: opts.onActivity,
  });
}
