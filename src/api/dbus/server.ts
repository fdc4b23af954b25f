// The D-Bus transport: receives method calls for org.bootc.Storage, checks the signature and argument shape,
// asks polkit, calls the core, and maps results and errors onto the wire. Publishes job objects and signals.
// It holds no storage logic.

import dbus from 'dbus-next';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ACTION_READ, type ActionId, lookupMethodPolicy } from '../../authz/actions.js';
import { callerUid } from '../../authz/caller-uid.js';
import type { Authority } from '../../authz/polkit.js';
import { type Job, type JobResultName, PROGRESS_FIELDS, watchJob } from '../../core/job-view.js';
import type { StorageService } from '../../core/storage-service.js';
import { MAX_LIST_ARGS, polkitDetails } from '../../core/targets.js';
import { createError, escapeControls, toStorageError } from '../../errors.js';
import { mapErrorToDBus } from './map-error.js';
import {
  inSignature,
  introspect,
  JOB_IFACE,
  JOB_METHODS,
  JOB_PATH_PREFIX,
  JOB_PROPERTIES,
  type MethodDef,
  outSignature,
  STORAGE_IFACE,
  STORAGE_METHODS,
  STORAGE_PATH,
  STORAGE_PROPERTIES,
} from './members.js';
import { jobPath, jobProps, requesterKey } from './wire.js';

const { Message, Variant } = dbus;
const METHOD_CALL = 1;
/** D-Bus header flag ALLOW_INTERACTIVE_AUTHORIZATION. */
const FLAG_ALLOW_INTERACTIVE = 0x4;
/** A positive answer for the read action is reused for this long per caller (reads are hot; polkit is ~7 ms). */
const READ_AUTH_TTL_MS = 10_000;
const READ_AUTH_CACHE_MAX = 4096;
const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
const INTROSPECT_IFACE = 'org.freedesktop.DBus.Introspectable';
const PEER_IFACE = 'org.freedesktop.DBus.Peer';

const str = z.string().max(4096);
const strList = z.array(str).max(MAX_LIST_ARGS);
/** Argument shapes per method, after the signature check (zod names what is wrong). */
const ARG_SCHEMAS: Record<string, z.ZodType<unknown[]>> = {
  Exists: z.tuple([str]),
  List: z.tuple([]),
  Pull: z.tuple([str, z.string().max(64)]),
  PullFromHost: z.tuple([str]),
  Remove: z.tuple([strList]),
  Prune: z.tuple([strList]),
  ListJobs: z.tuple([]),
  CancelJob: z.tuple([z.number().int().nonnegative()]),
  GarbageCollect: z.tuple([z.boolean()]),
  Cancel: z.tuple([]),
};

export interface DBusServerOptions {
  bus: dbus.MessageBus;
  service: StorageService;
  authority: Authority;
  version: string;
  log: Logger;
  /** Called on every method call (idle-exit bookkeeping). */
  onActivity?: () => void;
}

export class DBusServer {
  private readonly bus: dbus.MessageBus;
  private readonly service: StorageService;
  private readonly authority: Authority;
  private readonly log: Logger;
  private readonly readAuth = new Map<string, number>();
  /** Per job, the function that stops watching it (core/job-view.ts). */
  private readonly jobWatches = new Map<number, () => void>();
  private inFlight = 0;

  constructor(private readonly opts: DBusServerOptions) {
    this.bus = opts.bus;
    this.service = opts.service;
    this.authority = opts.authority;
    this.log = opts.log;
  }

  /** Method calls being answered (the daemon does not idle-exit while one is). */
  get pendingCalls(): number {
    return this.inFlight;
  }

  /** Starts dispatching and publishing job objects. */
  start(): void {
    this.bus.addMethodHandler((msg: dbus.Message) => this.route(msg));
    this.service.onJobEvents(
      (job) => this.onJobNew(job),
      (job, result) => this.onJobRemoved(job, result),
    );
  }

  /** Decides synchronously whether a message is ours; the answer is sent asynchronously. */
  private route(msg: dbus.Message): boolean {
    if (msg.type !== METHOD_CALL || !msg.path) return false;
    const path = msg.path;
    const ours =
      path === STORAGE_PATH ||
      path.startsWith(JOB_PATH_PREFIX) ||
      path === '/' ||
      STORAGE_PATH.startsWith(`${path}/`) ||
      path === `${STORAGE_PATH}/job`;
    if (!ours) return false;
    if (msg.interface === PEER_IFACE) return false; // dbus-next answers Ping/GetMachineId
    this.inFlight += 1;
    this.opts.onActivity?.();
    void this.dispatch(msg)
      .catch((err: unknown) =>
        this.log.error({ err: String(err), method: msg.member }, 'could not answer a call'),
      )
      .finally(() => {
        this.inFlight -= 1;
        this.opts.onActivity?.();
      });
    return true;
  }

  private async dispatch(msg: dbus.Message): Promise<void> {
    const path = msg.path!;
    const member = msg.member ?? '';
    const iface = msg.interface;
    try {
      if (iface === INTROSPECT_IFACE && member === 'Introspect') {
        return this.reply(msg, 's', [introspect(path, this.childrenOf(path))]);
      }
      if (path === STORAGE_PATH) {
        if (iface === PROPS_IFACE) return this.reply(msg, ...this.handleProperties(msg, STORAGE_IFACE));
        if ((iface === STORAGE_IFACE || !iface) && Object.hasOwn(STORAGE_METHODS, member)) {
          return await this.callStorage(msg, member, STORAGE_METHODS[member]!);
        }
      } else if (path.startsWith(JOB_PATH_PREFIX)) {
        const job = this.jobAt(path);
        if (iface === PROPS_IFACE) return this.reply(msg, ...this.handleProperties(msg, JOB_IFACE, job));
        if ((iface === JOB_IFACE || !iface) && member === 'Cancel') {
          this.checkArgs(msg, 'Cancel', JOB_METHODS.Cancel!);
          await this.cancel(msg, job);
          return this.reply(msg, '', []);
        }
      }
      this.bus.send(
        newError(
          msg,
          'org.freedesktop.DBus.Error.UnknownMethod',
          `no method ${iface ?? ''}.${member} at ${path}`,
        ),
      );
    } catch (err) {
      const mapped = mapErrorToDBus(err, member === 'Pull' || member === 'PullFromHost');
      const e = toStorageError(err);
      this.log.info({ method: member, sender: msg.sender, error: e.name, wire: mapped.name }, e.message);
      try {
        this.bus.send(newError(msg, mapped.name, escapeControls(mapped.message)));
      } catch {
        this.bus.send(newError(msg, mapped.name, `${member} failed (${e.name})`));
      }
    }
  }

  private async callStorage(msg: dbus.Message, member: string, def: MethodDef): Promise<void> {
    const args = this.checkArgs(msg, member, def);
    const sender = msg.sender ?? '';
    const interactive = (msg.flags & FLAG_ALLOW_INTERACTIVE) !== 0;
    const out = outSignature(def);
    if (member === 'CancelJob') {
      await this.cancel(msg, this.service.getJob(args[0] as number));
      return this.reply(msg, out, []);
    }
    const policy = lookupMethodPolicy(member);
    if (!policy || !('action' in policy)) throw createError('AccessDenied', `${member} is not allowed`);
    const details = polkitDetails(member, args[0]);
    await this.authorize(sender, policy.action, details, interactive);
    switch (member) {
      case 'Exists':
        return this.reply(msg, out, [await this.service.exists(args[0] as string)]);
      case 'List': {
        const images = await this.service.list();
        return this.reply(msg, out, [
          images.map((i) => [i.id, i.names, i.digest, BigInt(i.size), BigInt(i.created)]),
        ]);
      }
      case 'ListJobs':
        return this.reply(msg, out, [
          this.service.listJobs().map((j) => [j.id, j.kind, j.target, j.state, jobPath(j.id)]),
        ]);
    }
    const uid = await this.callerUid(sender);
    // The caller is its bus connection: its cancel withdraws it alone from a job others joined.
    const who = requesterKey(sender);
    switch (member) {
      case 'Pull': {
        const job = this.service.pull(args[0] as string, args[1] as string, uid, who);
        return this.reply(msg, out, [(await job.resultFor(who)).fetched]);
      }
      case 'PullFromHost':
        await this.service.pullFromHost(args[0] as string, uid, who).resultFor(who);
        return this.reply(msg, out, []);
      case 'Remove': {
        const job = this.service.remove(args[0] as string[], uid, who);
        return this.reply(msg, out, [await job.resultFor(who)]);
      }
      case 'Prune': {
        const job = this.service.prune(args[0] as string[], uid, who);
        return this.reply(msg, out, [await job.resultFor(who)]);
      }
      case 'GarbageCollect':
        return this.reply(msg, out, [await this.service.garbageCollect(args[0] as boolean, uid, who)]);
    }
    throw createError('AccessDenied', `${member} is not allowed`);
  }

  /**
   * A caller who wants the job (its connection, else its uid, submitted or joined it) withdraws itself
   * without polkit; the job stops only when nobody wants it any more. Anyone else stops it for everyone,
   * which needs the cancel-foreign action.
   */
  private async cancel(msg: dbus.Message, job: Job): Promise<void> {
    const sender = msg.sender ?? '';
    const uid = await this.callerUid(sender);
    const policy = lookupMethodPolicy('CancelJob');
    if (!policy || !('ownerOr' in policy)) throw createError('AccessDenied', 'cancel is not allowed');
    if (job.isWantedBy(uid, requesterKey(sender))) {
      const stopped = job.withdraw(uid, requesterKey(sender));
      this.log.info({ job: job.id, by: uid, stopped }, stopped ? 'cancel requested' : 'caller withdrew');
      return;
    }
    await this.authorize(
      sender,
      policy.ownerOr,
      { job: String(job.id) },
      (msg.flags & FLAG_ALLOW_INTERACTIVE) !== 0,
    );
    this.log.info({ job: job.id, by: uid }, 'cancel requested (for every caller)');
    job.cancel();
  }

  /** Signature first (the bus only checks it is well-formed), then the argument shapes. */
  private checkArgs(msg: dbus.Message, member: string, def: MethodDef): unknown[] {
    const expected = inSignature(def);
    if ((msg.signature ?? '') !== expected) {
      throw Object.assign(
        createError('InvalidArgument', `${member} takes (${expected}), got (${msg.signature ?? ''})`),
        {
          wire: 'org.freedesktop.DBus.Error.InvalidArgs',
        },
      );
    }
    const parsed = ARG_SCHEMAS[member]?.safeParse(msg.body ?? []);
    if (!parsed?.success) {
      throw createError(
        'InvalidArgument',
        `${member}: ${parsed?.error.issues[0]?.message ?? 'unexpected arguments'}`,
      );
    }
    return parsed.data;
  }

  private async authorize(
    sender: string,
    action: ActionId,
    details: Record<string, string>,
    interactive: boolean,
  ) {
    const now = Date.now();
    if (action === ACTION_READ && (this.readAuth.get(sender) ?? 0) > now) return;
    await this.authority.authorize({ sender, action, details, interactive });
    if (action === ACTION_READ) {
      if (this.readAuth.size >= READ_AUTH_CACHE_MAX) {
        for (const [k, exp] of this.readAuth) if (exp <= now) this.readAuth.delete(k);
        if (this.readAuth.size >= READ_AUTH_CACHE_MAX) this.readAuth.clear();
      }
      this.readAuth.set(sender, now + READ_AUTH_TTL_MS);
    }
  }

  /** The caller's uid as the bus vouches for it (one lookup in authz/caller-uid.ts). */
  private callerUid(sender: string): Promise<number> {
    return callerUid(this.bus, sender);
  }

  private handleProperties(msg: dbus.Message, iface: string, job?: Job): [string, unknown[]] {
    const values = iface === STORAGE_IFACE ? this.storageProps() : jobProps(job!);
    const defs = iface === STORAGE_IFACE ? STORAGE_PROPERTIES : JOB_PROPERTIES;
    const body = msg.body ?? [];
    if (msg.member === 'Get' && msg.signature === 'ss') {
      const [i, name] = body as [string, string];
      if (i !== iface && i !== '') throw createError('InvalidArgument', `no interface ${i} here`);
      if (!Object.hasOwn(defs, name)) throw createError('InvalidArgument', `no property ${name}`);
      return ['v', [new Variant(defs[name]!.type, values[name])]];
    }
    if (msg.member === 'GetAll' && msg.signature === 's') {
      const [i] = body as [string];
      if (i !== iface && i !== '') return ['a{sv}', [{}]];
      const all: Record<string, unknown> = {};
      for (const [name, def] of Object.entries(defs)) all[name] = new Variant(def.type, values[name]);
      return ['a{sv}', [all]];
    }
    if (msg.member === 'Set') throw createError('AccessDenied', 'all properties are read-only');
    throw createError('InvalidArgument', `unknown Properties call ${msg.member}`);
  }

  private storageProps(): Record<string, unknown> {
    return { Version: this.opts.version, StorePath: this.service.storePath };
  }

  private jobAt(path: string): Job {
    const id = Number(path.slice(JOB_PATH_PREFIX.length));
    const job = Number.isInteger(id) ? this.service.findJob(id) : undefined;
    if (!job) throw createError('NotFound', `no job at ${path}`);
    return job;
  }

  private childrenOf(path: string): string[] {
    if (path === '/') return ['org'];
    if (path === '/org') return ['bootc'];
    if (path === '/org/bootc') return ['Storage'];
    if (path === STORAGE_PATH) return this.service.listJobs().length > 0 ? ['job'] : [];
    if (path === `${STORAGE_PATH}/job`) return this.service.listJobs().map((j) => String(j.id));
    return [];
  }

  private reply(msg: dbus.Message, signature: string, body: unknown[]): void {
    this.bus.send(Message.newMethodReturn(msg, signature, body));
  }

  private signal(path: string, iface: string, name: string, signature: string, body: unknown[]) {
    this.bus.send(Message.newSignal(path, iface, name, signature, body));
  }

  private onJobNew(job: Job) {
    this.signal(STORAGE_PATH, STORAGE_IFACE, 'JobNew', 'uo', [job.id, jobPath(job.id)]);
    // The core's one throttle (core/job-view.ts): state at once, progress at most every 100 ms.
    this.jobWatches.set(
      job.id,
      watchJob(job, (names) => this.emitJobProps(job, [...names])),
    );
  }

  private onJobRemoved(job: Job, result: JobResultName) {
    this.jobWatches.get(job.id)?.();
    this.jobWatches.delete(job.id);
    this.emitJobProps(job, ['state', ...PROGRESS_FIELDS]);
    this.signal(STORAGE_PATH, STORAGE_IFACE, 'JobRemoved', 'uos', [job.id, jobPath(job.id), result]);
  }

  private emitJobProps(job: Job, names: string[]) {
    const values = jobProps(job);
    const changed: Record<string, unknown> = {};
    for (const n of names) {
      const prop = n.charAt(0).toUpperCase() + n.slice(1);
      const def = JOB_PROPERTIES[prop];
      if (def) changed[prop] = new Variant(def.type, values[prop]);
    }
    if (Object.keys(changed).length > 0) {
      this.signal(jobPath(job.id), PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as', [JOB_IFACE, changed, []]);
    }
  }
}

/** dbus-next's typings declare the first argument a string; it is the message being answered. */
function newError(msg: dbus.Message, name: string, text: string): dbus.Message {
  return Message.newError(msg as unknown as string, name, text);
}
