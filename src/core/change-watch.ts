// Whoever changes what the daemon reads (its own jobs, bootc staging an update or pruning, `ostree admin
// deploy/undeploy`, an admin's podman on the store), clients hear "look again": the directories the reads come
// from are watched with inotify (fs.watch), a burst of events is coalesced, and then what a client would see is
// compared with what it saw last: the store's images and their names, and the deployments with their roles.
// Only a real difference is announced, as `store` or `deployments`; the events carry nothing else (no image
// names: they are not authorization-gated data). Nothing is watched until the first listener (D-Bus Subscribe,
// Varlink Watch) starts it; the watches are not persistent handles and no timer runs while nothing changes, so
// a daemon nobody listens to pays nothing, and a watched one still exits when idle.

import { EventEmitter } from 'node:events';
import { existsSync, type FSWatcher, watch } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { readdirOrEmpty } from '../ostree/deployments.js';
import { imageRefDirs } from '../ostree/pending-updates.js';
import type { ChangeKind } from './caller.js';
import { listDeployments } from './deployments.js';
import type { StorageService } from './storage-service.js';

/** Events within this long of each other are one change. */
const CHANGE_COALESCE_MS = 150;

/** Where the watched state lives and how to read what a client would see of it. */
interface ChangeSources {
  /** Directories whose entries change when that kind of state does (missing ones are skipped). */
  dirs(kind: ChangeKind): string[];
  /** What a client sees of it now; equal strings mean nothing visible changed. */
  fingerprint(kind: ChangeKind): Promise<string>;
}

const KINDS: readonly ChangeKind[] = ['store', 'deployments'];

/** The change feed: `change` events with the kind; `start()` arms the watches, `stop()` drops them. */
class ChangeWatch extends EventEmitter<{ change: [ChangeKind] }> {
  private readonly watchers = new Map<string, { watcher: FSWatcher; kinds: Set<ChangeKind> }>();
  private readonly last = new Map<ChangeKind, string>();
  /** Each kind's directories as last listed: a burst of one kind lists only that kind's again. */
  private readonly dirsOf = new Map<ChangeKind, string[]>();
  private readonly dirty = new Set<ChangeKind>();
  private timer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly sources: ChangeSources,
    private readonly log?: Logger,
    private readonly coalesceMs = CHANGE_COALESCE_MS,
  ) {
    super();
  }

  /** Reads the current state and watches its directories (once; later calls share the first). */
  start(): Promise<void> {
    this.started ??= (async () => {
      for (const kind of KINDS) this.last.set(kind, await this.sources.fingerprint(kind));
      this.rearm();
    })();
    return this.started;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /**
   * The directories to watch now, each with the kinds it tells about (`kinds` listed again, the others as they
   * were); new ones watched, gone ones dropped.
   */
  private rearm(kinds: readonly ChangeKind[] = KINDS): void {
    if (this.stopped) return;
    for (const kind of kinds) this.dirsOf.set(kind, this.sources.dirs(kind));
    const wanted = new Map<string, Set<ChangeKind>>();
    for (const [kind, dirs] of this.dirsOf)
      for (const dir of dirs) wanted.set(dir, (wanted.get(dir) ?? new Set()).add(kind));
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const [dir, kinds] of wanted) {
      const held = this.watchers.get(dir);
      if (held) {
        held.kinds = kinds;
        continue;
      }
      if (!existsSync(dir)) continue;
      try {
        // Not persistent: a watch never keeps the process alive.
        const watcher = watch(dir, { persistent: false }, () => this.poke(dir));
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
          this.poke(undefined);
        });
        this.watchers.set(dir, { watcher, kinds });
      } catch (err) {
        this.log?.debug({ dir, err: String(err) }, 'cannot watch a directory');
      }
    }
  }

  private poke(dir: string | undefined): void {
    const kinds = dir === undefined ? KINDS : [...(this.watchers.get(dir)?.kinds ?? KINDS)];
    for (const k of kinds) this.dirty.add(k);
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => void this.flush(), this.coalesceMs);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    const kinds = [...this.dirty];
    this.dirty.clear();
    try {
      for (const kind of kinds) {
        const now = await this.sources.fingerprint(kind);
        if (now === this.last.get(kind)) continue;
        this.last.set(kind, now);
        this.log?.debug({ kind }, 'change seen');
        this.emit('change', kind);
      }
    } finally {
      this.timer = undefined;
      this.rearm(kinds); // a new stateroot, a store created meanwhile
      if (this.dirty.size > 0) this.poke(undefined);
    }
  }
}

/** The directories and fingerprints of one service: its store and its sysroot's deployments. */
function serviceSources(service: StorageService): ChangeSources {
  return {
    dirs: (kind) => {
      const store = service.storePath;
      const sysroot = service.handle.sysroot;
      if (kind === 'store') {
        // images.json is replaced by a rename and images.lock rewritten on every change of the image set;
        // the store's parent sees the store itself appear.
        return [dirname(store), store, join(store, 'overlay-images')];
      }
      const deploy = join(sysroot, 'ostree/deploy');
      let stateroots: string[] = [];
      try {
        stateroots = readdirOrEmpty(deploy);
      } catch {
        // unreadable: its own directory is still watched, and the reads say why
      }
      return [
        deploy,
        ...stateroots.map((stateroot) => join(deploy, stateroot, 'deploy')),
        join(sysroot, 'boot'), // the loader link is swapped on every deploy and undeploy
        ...imageRefDirs(sysroot), // fetched updates (ostree-ext's image refs)
        '/run/ostree', // the staged-deployment marker (libostree's runtime state, as booted-deployment.ts reads it)
      ];
    },
    fingerprint: async (kind) => {
      try {
        if (kind === 'store') {
          const images = await service.list();
          return JSON.stringify(images.map((i) => [i.id, [...i.names].sort()]).sort());
        }
        return JSON.stringify(listDeployments(service));
      } catch (err) {
        return `unavailable: ${(err as Error).name}`;
      }
    },
  };
}

const feeds = new WeakMap<StorageService, ChangeWatch>();

/** The one change feed of a service (made on first use; the daemon starts it). */
export function changesOf(service: StorageService): ChangeWatch {
  let feed = feeds.get(service);
  if (!feed) {
    feed = new ChangeWatch(serviceSources(service), service.log);
    feed.setMaxListeners(0); // one per Varlink watcher, each capped by the connection limits
    feeds.set(service, feed);
  }
  return feed;
}
