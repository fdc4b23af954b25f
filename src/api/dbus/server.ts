// The D-Bus transport: receives method calls for org.bootc.Storage, checks the signature and argument shape,
// asks polkit, calls the core, and maps results and errors onto the wire. Publishes job objects and signals.
// It holds no storage logic.

import dbus from 'dbus-next';
import type { Logger } from 'pino';
import { ACTION_CANCEL_FOREIGN, ACTION_READ, type ActionId } from '../../authz/actions.js';
import { callerUid } from '../../authz/caller-uid.js';
import type { Authority } from '../../authz/polkit.js';
import { ReadGrants } from '../../authz/read-grants.js';
import { changesOf } from '../../core/change-watch.js';
import { type ArgsOf, type ArgsSchema, NO_ARGS } from '../../core/contract.js';
import type { Job } from '../../core/job-view.js';
import { type Caller, findOperation, type Operation } from '../../core/operations.js';
import type { StorageService } from '../../core/storage-service.js';
import { subscribersOf } from '../../core/subscribers.js';
import { createError, escapeControls, toStorageError } from '../../errors.js';
import { CallTrace, TRACE_CALLS } from './call-trace.js';
import { introspect } from './interface-xml.js';
import { JobObjects, OBJECT_MANAGER_IFACE } from './job-objects.js';
import { mapErrorToDBus } from './map-error.js';
import { marshalBody } from './marshal.js';
import {
  inSignature,
  JOB_IFACE,
  JOB_METHODS,
  JOB_PATH_PREFIX,
  JOB_PROPERTIES,
  type MethodDef,
  STORAGE_IFACE,
  STORAGE_METHODS,
  STORAGE_PATH,
  STORAGE_PROPERTIES,
  signatureOf,
} from './members.js';
import { ReplyWriter } from './reply-writer.js';
import { jobProps, requesterKey } from './wire.js';

const { Message, Variant } = dbus;
const METHOD_CALL = 1;
const SIGNAL = 4;
/** D-Bus header flag ALLOW_INTERACTIVE_AUTHORIZATION. */
const FLAG_ALLOW_INTERACTIVE = 0x4;
const BUS_DRIVER = 'org.freedesktop.DBus';
const POLKIT_AUTHORITY_IFACE = 'org.freedesktop.PolicyKit1.Authority';
/** The signals that end read grants: a caller leaving the bus, and polkit's rules or authorizations changing. */
const GRANT_MATCHES = [
  `type='signal',sender='${BUS_DRIVER}',path='/org/freedesktop/DBus',interface='${BUS_DRIVER}',member='NameOwnerChanged'`,
  `type='signal',sender='org.freedesktop.PolicyKit1',interface='${POLKIT_AUTHORITY_IFACE}',member='Changed'`,
];
const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
const INTROSPECT_IFACE = 'org.freedesktop.DBus.Introspectable';
const PEER_IFACE = 'org.freedesktop.DBus.Peer';

export interface DBusServerOptions {
  bus: dbus.MessageBus;
  service: StorageService;
  authority: Authority;
  version: string;
  log: Logger;
  /** polkit's yes to reads, shared with the Varlink transport (authz/read-grants.ts); a new one if absent. */
  readGrants?: ReadGrants;
  /** Called on every method call (idle-exit bookkeeping). */
  onActivity?: () => void;
}

export class DBusServer {
  private readonly bus: dbus.MessageBus;
  private readonly service: StorageService;
  private readonly authority: Authority;
  private readonly log: Logger;
  /** polkit's yes to the read action per caller and question, for a few seconds (authz/read-grants.ts). */
  private readonly readGrants: ReadGrants;
  private readonly replies: ReplyWriter;
  /** The marshalled D-Bus body of a snapshot operation's value (List: per image view snapshot). */
  private readonly bodies = new WeakMap<object, Buffer>();
  /** The job objects this server publishes (signals, PropertiesChanged, ObjectManager). */
  private readonly jobs: JobObjects;
  private inFlight = 0;

  constructor(private readonly opts: DBusServerOptions) {
    this.bus = opts.bus;
    this.service = opts.service;
    this.authority = opts.authority;
    this.log = opts.log;
    this.readGrants = opts.readGrants ?? new ReadGrants();
    this.jobs = new JobObjects(opts.bus, opts.service);
    this.replies = new ReplyWriter(opts.bus);
  }

  /** Method calls being answered (the daemon does not idle-exit while one is). */
  get pendingCalls(): number {
    return this.inFlight;
  }

  /** Starts dispatching, publishing job objects, and signalling changes of the store and the deployments. */
  start(): void {
    this.bus.addMethodHandler((msg: dbus.Message) => this.route(msg));
    this.jobs.start();
    this.watchGrants();
    changesOf(this.service).on('change', (kind) => this.jobs.signalChange(kind));
  }

  /** Ends read grants when their caller leaves the bus or polkit's answers may have changed. */
  private watchGrants(): void {
    if (typeof this.bus.on !== 'function') return; // a test's fake bus
    this.bus.on('message', (msg: dbus.Message) => {
      if (msg.type !== SIGNAL) return;
      if (msg.member === 'NameOwnerChanged' && msg.sender === BUS_DRIVER && msg.interface === BUS_DRIVER) {
        const [name, , owner] = (msg.body ?? []) as unknown[];
        const left = typeof name === 'string' && name.startsWith(':') && owner === '';
        if (left) subscribersOf(this.service).remove(requesterKey(name));
        const dropped = left && this.readGrants.forget(requesterKey(name));
        if (dropped && TRACE_CALLS) this.log.debug({ sender: name }, 'read grant dropped');
      } else if (msg.member === 'Changed' && msg.interface === POLKIT_AUTHORITY_IFACE) {
        this.readGrants.clear();
      }
    });
    for (const rule of GRANT_MATCHES) {
      void this.bus
        .call(
          new Message({
            destination: BUS_DRIVER,
            path: '/org/freedesktop/DBus',
            interface: BUS_DRIVER,
            member: 'AddMatch',
            signature: 's',
            body: [rule],
          }),
        )
        .catch((err: unknown) =>
          this.log.warn({ err: String(err), rule }, 'cannot watch for read grants to end'),
        );
    }
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
        return this.reply(msg, 's', [introspect(path, this.jobs.childrenOf(path))]);
      }
      if (path === STORAGE_PATH) {
        if (iface === PROPS_IFACE) return this.reply(msg, ...this.handleProperties(msg, STORAGE_IFACE));
        if (iface === OBJECT_MANAGER_IFACE && member === 'GetManagedObjects') {
          // Every job's data: as ListJobs, a read (an admin rule denying the read action denies this too).
          this.checkArgs(msg, member, { in: [], out: [] }, NO_ARGS);
          await this.callerOf(msg).authorize(ACTION_READ, {});
          return this.reply(msg, 'a{oa{sa{sv}}}', [this.jobs.managedObjects()]);
        }
        const op = iface === STORAGE_IFACE || !iface ? findOperation(member, 'dbus') : undefined;
        if (op) return await this.callOperation(msg, op);
      } else if (path.startsWith(JOB_PATH_PREFIX)) {
        if (iface === PROPS_IFACE) {
          // A job's properties are job data, read like ListJobs, and asked for before the job is looked up
          // (a denied caller learns nothing, not even which jobs exist). Set is refused for everyone anyway.
          if (msg.member !== 'Set') await this.callerOf(msg).authorize(ACTION_READ, {});
          return this.reply(msg, ...this.handleProperties(msg, JOB_IFACE, this.jobAt(path)));
        }
        const job = this.jobAt(path);
        if ((iface === JOB_IFACE || !iface) && member === 'Cancel') {
          this.checkArgs(msg, 'Cancel', JOB_METHODS.Cancel!, NO_ARGS);
          await this.service.cancelFor(job, this.callerOf(msg), ACTION_CANCEL_FOREIGN);
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
      const mapped = mapErrorToDBus(
        err,
        path === STORAGE_PATH && findOperation(member, 'dbus')?.pulling === true,
      );
      const e = toStorageError(err);
      this.log.info({ method: member, sender: msg.sender, error: e.name, wire: mapped.name }, e.message);
      try {
        this.bus.send(newError(msg, mapped.name, escapeControls(mapped.message)));
      } catch {
        this.bus.send(newError(msg, mapped.name, `${member} failed (${e.name})`));
      }
    }
  }

  /** The one loop for every operation: check, parse, authorize, run, project (core/operations.ts). */
  private async callOperation(msg: dbus.Message, op: Operation): Promise<void> {
    const trace = TRACE_CALLS ? new CallTrace() : undefined;
    trace?.mark('dispatch');
    const input = this.checkArgs(msg, op.name, STORAGE_METHODS[op.name]!, op.input);
    trace?.mark('check');
    const caller = this.callerOf(msg);
    if ('action' in op.access) {
      // An argument polkit would show is parsed first: bad input never prompts and never reaches the core.
      // A read is answered from the grants when this caller was allowed this very question moments ago.
      const details = op.details?.(input) ?? {};
      if (trace) trace.facts.granted = this.readGrants.has(requesterKey(msg.sender ?? ''), details);
      await caller.authorize(op.access.action, details);
    }
    trace?.mark('authorize');
    const outcome = await op.run(this.service, input, caller);
    // A change feed is a Varlink stream (Watch); D-Bus has the StoreChanged and DeploymentsChanged signals.
    if ('feed' in outcome) throw new Error(`${op.name} is not a D-Bus method`);
    const value = 'job' in outcome ? await outcome.job.resultFor(caller.who) : outcome.value;
    trace?.mark('run');
    this.replyWith(msg, op, value, trace);
    if (trace) this.log.debug({ method: op.name, us: trace.us, ...trace.facts }, 'call timing');
  }

  /**
   * An operation's reply: its projection, marshalled and written (a snapshot's body marshalled once per
   * value and kept while the value lives). Other replies are marshalled with their header.
   */
  private replyWith(msg: dbus.Message, op: Operation, value: unknown, trace?: CallTrace): void {
    const signature = OUT_SIGNATURES.get(op) ?? signatureOf(op.out);
    const keep = op.snapshot === true && this.replies.direct && typeof value === 'object' && value !== null;
    let body: unknown[] | Buffer | undefined = keep ? this.bodies.get(value) : undefined;
    if (trace) trace.facts.cachedBody = body !== undefined;
    if (!body) {
      body = op.toDBus(value);
      trace?.mark('project');
      if (keep) {
        try {
          const bytes = marshalBody(signature, body);
          this.bodies.set(value, bytes);
          body = bytes;
        } catch {
          // A value the fast marshaller does not take: sent as values, dbus-next's path names what is wrong.
        }
      }
    }
    trace?.mark('marshal');
    if (trace && Buffer.isBuffer(body)) trace.facts.bodyBytes = body.length;
    this.replies.send(msg, signature, body, trace);
    trace?.mark('write');
  }

  /** The caller as the core sees it: its connection, its uid (looked up once, when needed), and polkit. */
  private callerOf(msg: dbus.Message): Caller {
    const sender = msg.sender ?? '';
    const interactive = (msg.flags & FLAG_ALLOW_INTERACTIVE) !== 0;
    let uid: Promise<number> | undefined;
    return {
      // The caller is its bus connection: its cancel withdraws it alone from a job others joined.
      who: requesterKey(sender),
      uid: () => {
        uid ??= callerUid(this.bus, sender);
        return uid;
      },
      authorize: (action, details) => this.authorize(sender, action, details, interactive),
    };
  }

  /** Signature first (the bus only checks it is well-formed), then the argument shapes. */
  private checkArgs<S extends ArgsSchema>(
    msg: dbus.Message,
    member: string,
    def: MethodDef,
    schema: S,
  ): ArgsOf<S> {
    const expected = inSignature(def);
    if ((msg.signature ?? '') !== expected) {
      throw Object.assign(
        createError('InvalidArgument', `${member} takes (${expected}), got (${msg.signature ?? ''})`),
        {
          wire: 'org.freedesktop.DBus.Error.InvalidArgs',
        },
      );
    }
    const parsed = schema.safeParse(msg.body ?? []);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = issue?.path.length
        ? ` (argument ${def.in[Number(issue.path[0])]?.name ?? String(issue.path[0])})`
        : '';
      throw createError('InvalidArgument', `${member}${at}: ${issue?.message ?? 'unexpected arguments'}`);
    }
    return parsed.data;
  }

  private async authorize(
    sender: string,
    action: ActionId,
    details: Record<string, string>,
    interactive: boolean,
  ) {
    const ask = () => this.authority.authorize({ sender, action, details, interactive });
    // Only a yes is remembered, and only for reads: a denied caller is asked again (and denied) every time.
    // (A caller that left meanwhile keeps a grant nobody can use, since the bus never reuses a unique name,
    // until it expires.)
    if (action === ACTION_READ && sender) await this.readGrants.authorize(requesterKey(sender), details, ask);
    else await ask();
  }

  /**
   * org.freedesktop.DBus.Properties, answered here and not by dbus-next's own Get/GetAll: that handler
   * (lib/service/handlers.js) answers only for Interface objects exported with bus.export, and the daemon exports
   * none. Every call to our paths goes through route (addMethodHandler), which sees the message (sender, flags),
   * so a job's Get/GetAll is authorized like ListJobs before the job is even looked up; dbus-next's handlers are
   * never told who asked. Job objects also come and go with the queue, and '' as the interface is accepted.
   */
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

  private reply(msg: dbus.Message, signature: string, body: unknown[]): void {
    this.replies.send(msg, signature, body);
  }
}

/** Each operation's out-signature, joined once. */
const OUT_SIGNATURES = new Map<Operation, string>(
  Object.keys(STORAGE_METHODS).flatMap((name) => {
    const op = findOperation(name, 'dbus');
    return op ? [[op, signatureOf(op.out)] as const] : [];
  }),
);

/** dbus-next's typings declare the first argument a string; it is the message being answered. */
function newError(msg: dbus.Message, name: string, text: string): dbus.Message {
  return Message.newError(msg as unknown as string, name, text);
}
