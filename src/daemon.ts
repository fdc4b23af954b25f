#!/usr/bin/env node
// bootc-storaged: wiring only. Opens the store, builds the core, connects the D-Bus transport and polkit,
// and owns the process lifecycle (readiness, watchdog, SIGTERM, lost bus, idle exit).

// First of all: from here on SIGUSR1 cannot open Node's inspector (no-inspector.ts).
import './no-inspector.js';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { onConnectionEnd } from './api/dbus/dbus-next-internals.js';
import { BUS_NAME } from './api/dbus/members.js';
import { limitIncomingMessages, STORAGE_MESSAGE_LIMITS } from './api/dbus/message-limit.js';
import { DBusServer } from './api/dbus/server.js';
import { createLazyVarlink } from './api/varlink/lazy-server.js';
import { listenVarlink, takeActivationFd } from './api/varlink/listen.js';
import { PolkitAuthority } from './authz/polkit.js';
import { ReadGrants } from './authz/read-grants.js';
import { changesOf } from './core/change-watch.js';
import { StorageService } from './core/storage-service.js';
import { StoreHandle, type StoreState } from './core/store-handle.js';
import { subscribersOf } from './core/subscribers.js';
import { type DaemonOptions, OptionError, parseDaemonArgs, renderHelp } from './daemon-options.js';
import { toStorageError } from './errors.js';
import { createLogger } from './log.js';
import { compactHeapWhenIdle } from './process/compact-heap.js';
import { killStoreProcesses } from './storage/run-in-store.js';
import { STORE_SUBPATH, Store } from './storage/store.js';
import { notifySystemd, startWatchdog } from './systemd-notify.js';
import { VERSION } from './version.js';

/** RequestName flag: fail instead of queueing behind another owner. */
const DBUS_NAME_FLAG_DO_NOT_QUEUE = 4;
const PRIMARY_OWNER = 1;
/** How long readiness waits for the store to open before it is reported anyway (see serve()). */
const READY_WAIT_MS = 2000;
/** Shutdown must finish within this, or the process exits anyway (systemd's stop timeout is longer). */
const SHUTDOWN_DEADLINE_MS = 30_000;

/** The command line, or exit: --help and --version print and exit 0, a bad option exits 1 (as commander did). */
function readOptions(): DaemonOptions {
  try {
    const parsed = parseDaemonArgs(process.argv.slice(2));
    if (parsed === 'help' || parsed === 'version') {
      process.stdout.write(parsed === 'help' ? renderHelp() : `${VERSION}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  }
}

const opts = readOptions();
const log = createLogger();
// A promise rejected with nobody listening is a bug, but never a reason to drop every queued job: log it.
process.on('unhandledRejection', (err) => log.error({ err: String(err) }, 'unhandled rejection'));
// Varlink: the socket systemd passed (bootc-storaged.socket), taken before any child process is spawned.
const varlinkFd = takeActivationFd();

async function selfCheck(handle: StoreHandle): Promise<number> {
  const store = await handle.get();
  const images = await store.list();
  process.stdout.write(`${JSON.stringify({ store: store.storePath, images }, null, 2)}\n`);
  return 0;
}

/** What `systemctl status` shows: serving, or why the store cannot be used (the next write retries). */
function statusLine(state: StoreState): string {
  return state.open
    ? `STATUS=serving ${state.storePath}`
    : `STATUS=degraded: ${state.error.message.slice(0, 400)} (the next write retries)`;
}

async function serve(handle: StoreHandle): Promise<number> {
  const service = new StorageService(handle, {
    logger: log,
    stallTimeoutMs: opts.stallTimeout * 1000,
    lockTimeoutMs: opts.lockTimeout * 1000,
    jobRetentionMs: opts.jobRetention * 1000,
    pullRetries: opts.pullRetries,
    spaceReserveBytes: opts.spaceReserve,
    progressTotals: opts.progressTotals,
  });
  let ready = false;
  handle.on('state', (state) => {
    if (state.open) log.info({ store: state.storePath }, 'image store opened');
    else log.error({ err: { name: state.error.name, details: state.error.details } }, state.error.message);
    if (ready) void notifySystemd(statusLine(state));
  });

  const bus = dbus.systemBus();
  limitIncomingMessages(bus, {
    ...STORAGE_MESSAGE_LIMITS,
    onRefused: (r) => log.warn(r, 'refused an oversized message'),
  });
  const authority = new PolkitAuthority(bus);
  let lastActivity = Date.now();
  // What both transports are built on; each call through either counts as activity for the idle exit.
  const transport = {
    service,
    authority,
    // One cache of polkit's yes to reads for both transports, emptied when polkit's answers change.
    readGrants: new ReadGrants(),
    version: VERSION,
    log,
    onActivity: () => {
      lastActivity = Date.now();
    },
  };
  const server = new DBusServer({ bus, ...transport });
  server.start();
  // The Varlink transport is loaded when its first client connects (lazy-server.ts): nothing of it at rest.
  const varlink = createLazyVarlink(
    () =>
      import('./api/varlink/server.js').then(({ createVarlinkStorageServer }) =>
        createVarlinkStorageServer(transport),
      ),
    log,
  );

  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => {
    resolveExit = r;
  });
  let stopping = false;
  const stop = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    service.close(); // from now on new work is refused with Busy; what is queued is canceled below
    changesOf(service).stop(); // the change watch, if a listener (Subscribe, Watch) ever armed it
    log.info({ why }, 'stopping');
    const deadline = setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      process.exit(code || 1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    await notifySystemd('STOPPING=1');
    await service.shutdown().catch(() => undefined);
    await varlink.close().catch(() => undefined); // after the jobs: waiting Varlink callers get Canceled first
    await killStoreProcesses().catch(() => undefined);
    await bus.releaseName(BUS_NAME).catch(() => undefined);
    bus.disconnect();
    resolveExit(code);
  };

  // A lost bus connection is unrecoverable here: exit non-zero so systemd restarts us.
  const lost = () => {
    if (stopping) return;
    stopping = true;
    log.error('lost the bus connection');
    void service.shutdown().finally(() => process.exit(1));
  };
  // An orderly close, or a socket destroyed by an error (dbus-next's MessageBus says neither).
  onConnectionEnd(bus, lost);
  bus.on('error', (err: Error) => log.error({ err: err.message }, 'bus error'));
  process.on('SIGTERM', () => void stop(0, 'SIGTERM'));
  process.on('SIGINT', () => void stop(0, 'SIGINT'));

  const reply = await bus.requestName(BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE);
  if (reply !== PRIMARY_OWNER) {
    log.error({ reply }, `cannot own ${BUS_NAME}: another daemon has it`);
    bus.disconnect();
    return 1;
  }
  // Only the owner of the name may touch shared state: a second instance must not create the store or wipe
  // our pull staging. A store that cannot be created or opened does not stop the daemon: it keeps its name,
  // answers every call at once with the reason, and the next write tries again.
  await service.cleanStaleState();
  const opened = service
    .openStore()
    .then(() => service.view.refresh())
    .catch(() => undefined); // logged by the handle's state listener above
  // Bound only once the bus name is ours: no other daemon can be serving, so a leftover socket file is stale.
  try {
    const where = await listenVarlink(
      varlink.server,
      opts.varlinkSocket ?? join(opts.run, 'bootc', 'org.bootc.Storage'),
      varlinkFd,
    );
    log.info(where, 'varlink listening');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'cannot listen for Varlink');
    await bus.releaseName(BUS_NAME).catch(() => undefined);
    bus.disconnect();
    return 1;
  }
  // Ready once the store is open (usually milliseconds), or after a moment while a first start is still
  // creating and labelling it: that work is not bounded by the unit's start timeout, and calls are answered
  // meanwhile (reads wait a moment for it, then say it is still being created).
  await Promise.race([opened, new Promise((r) => setTimeout(r, READY_WAIT_MS).unref())]);
  log.info(
    { name: BUS_NAME, store: handle.storePath, version: VERSION, open: handle.current !== undefined },
    'serving',
  );
  const error = handle.error;
  await notifySystemd(
    'READY=1',
    handle.current || error
      ? statusLine(error ? { open: false, error } : { open: true, storePath: handle.storePath })
      : `STATUS=creating ${handle.storePath}`,
  );
  ready = true;
  const stopWatchdog = startWatchdog();
  const quiet = () =>
    service.idle &&
    server.pendingCalls === 0 &&
    authority.pending === 0 &&
    varlink.pendingCalls === 0 &&
    varlink.connections === 0 &&
    subscribersOf(service).size === 0; // D-Bus Subscribe: someone listens for changes
  // Work is a job or a call in progress; ended jobs kept for late readers are not (they keep the idle exit off).
  compactHeapWhenIdle(
    () => !service.queue.idle || server.pendingCalls > 0 || authority.pending > 0 || varlink.pendingCalls > 0,
    (rssBefore, rssAfter) => log.debug({ rssBefore, rssAfter }, 'start-up garbage collected'),
  );

  const idleSeconds = opts.idleTimeout ?? (process.env.INVOCATION_ID ? 120 : 0);
  if (idleSeconds > 0) {
    const timer = setInterval(
      () => {
        if (!quiet()) lastActivity = Date.now();
        else if (Date.now() - lastActivity >= idleSeconds * 1000) void stop(0, 'idle');
      },
      Math.min(1000, idleSeconds * 250),
    );
    timer.unref();
  }
  const code = await exited;
  stopWatchdog();
  return code;
}

async function main(): Promise<number> {
  const handle = new StoreHandle(opts.sysroot, join(opts.sysroot, STORE_SUBPATH), () =>
    Store.create({
      sysroot: opts.sysroot,
      run: opts.run,
      authRoot: opts.authRoot,
      layout: opts.layout,
      copier: opts.pullWith,
      // 0 means no limit: a day-long cap stands in for "never" so a wedged podman still ends some day.
      pullTimeoutMs: (opts.pullTimeout > 0 ? opts.pullTimeout : 24 * 3600) * 1000,
      logger: log,
    }),
  );
  try {
    return opts.selfCheck ? await selfCheck(handle) : await serve(handle);
  } finally {
    handle.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = toStorageError(err);
    log.error({ err: { name: e.name, details: e.details } }, e.message);
    process.exit(1);
  },
);
