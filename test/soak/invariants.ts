// The invariants, checked at every checkpoint (the start, after each fault, the end) while the clients are
// paused and the job queue has drained: the daemon answers; its image list equals podman's own `image list`
// on the store (podman run as the daemon runs it) and is the same over both transports; every keep image a
// root client holds is still there; no mount leaked into the stand-in host namespace or this one; no podman
// or skopeo of ours outlived its daemon; the daemon's RSS and open fds are within bounds. The sampler records
// RSS and fds over time for the report's plot.

import { readdirSync, readFileSync } from 'node:fs';
import { readHostMounts } from '../helpers/mounts.js';
import { type SoakConfig, sleep } from './config.js';
import type { Fixture } from './fixture.js';
import type { TrafficState } from './operations.js';
import type { Recorder } from './record.js';
import { DbusCaller, now, VarlinkCaller } from './transports.js';

export interface Sample {
  /** seconds since the start */
  t: number;
  pid: number;
  rssMiB: number;
  fds: number;
}

interface Image {
  id: string;
  names: string[];
  digest: string;
  size: number;
}

const ACTIVE = new Set(['queued', 'running', 'blocked']);
const key = (images: Image[]) =>
  images
    .map((i) => `${i.id} ${[...i.names].sort().join(',')} ${i.digest} ${i.size}`)
    .sort()
    .join('\n');

/** RSS (MiB) and open fds of a process, or undefined once it is gone. */
export function processFigures(pid: number): { rssMiB: number; fds: number } | undefined {
  try {
    // A zombie (killed, not yet reaped) has no VmRSS line and no fds: no sample.
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (rss === undefined) return undefined;
    return { rssMiB: Number(rss) / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** Processes (other than `except`) whose environment carries `marker`: podman, skopeo, their wrappers. */
function markedProcesses(marker: string, except: number | undefined): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === except || Number(name) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${name}/environ`).includes(marker)) continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cmd) found.push(`${name}: ${cmd.slice(0, 160)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export class Invariants {
  readonly samples: Sample[] = [];
  private readonly dbus: DbusCaller;
  private readonly varlink: VarlinkCaller;
  private hostMounts: string[] = [];
  private ownMounts: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly cfg: SoakConfig,
    private readonly fx: Fixture,
    private readonly state: TrafficState,
    private readonly recorder: Recorder,
  ) {
    this.dbus = new DbusCaller(fx.bus.address);
    this.varlink = new VarlinkCaller(fx.varlinkSocket);
  }

  /** Mount tables as they are before any traffic: what every later look must equal. */
  baseline(): void {
    this.hostMounts = this.fx.host.mounts();
    this.ownMounts = this.mine();
  }

  /**
   * What was mounted or unmounted in the stand-in host namespace since the baseline, by mount ID: its
   * propagation is private, so only a process inside it (the daemon's launcher) can change its table. Paths
   * are no key: they follow renames made outside (another test renaming a directory with a mount in it).
   */
  private hostChanges(): string {
    const ids = (lines: string[]) => new Map(lines.map((l) => [l.split(' ')[0]!, l]));
    const before = ids(this.hostMounts);
    const after = ids(this.fx.host.mounts());
    const gone = [...before].filter(([id]) => !after.has(id)).map(([, l]) => `- ${l}`);
    const added = [...after].filter(([id]) => !before.has(id)).map(([, l]) => `+ ${l}`);
    return [...gone, ...added].join('; ');
  }

  /** Our own namespace's mounts that could be ours: the alias, our directories. */
  private mine(): string[] {
    const dirs = [this.fx.dir, this.fx.sandbox.dir];
    return readHostMounts().filter((l) => l.includes('/run/bootc') || dirs.some((d) => l.includes(d)));
  }

  startSampling(): void {
    const take = () => {
      const pid = this.fx.daemon.proc.pid;
      const f = pid === undefined ? undefined : processFigures(pid);
      if (pid !== undefined && f) this.samples.push({ t: this.recorder.rel() / 1000, pid, ...f });
    };
    take();
    this.timer = setInterval(take, this.cfg.sampleEveryMs);
  }

  stopSampling(): void {
    clearInterval(this.timer);
  }

  /** Whether the daemon has a job running (the kill fault aims at one). */
  async jobRunning(): Promise<boolean> {
    const o = await this.dbus.call({ t: 'dbus', member: 'ListJobs', signature: '', body: [] }, 5_000);
    const jobs = ((o.value as unknown[] | undefined)?.[0] ?? []) as [number, string, string, string][];
    return jobs.some((j) => j[3] === 'running');
  }

  /** Runs every check once; clients must be paused. */
  async checkpoint(label: string): Promise<void> {
    const check = (name: string, ok: boolean, detail?: string) =>
      this.recorder.check(label, name, ok, detail);
    const drained = await this.drain();
    check('queue drains', drained.ok, drained.detail);
    const pid = this.fx.daemon.proc.pid;
    check('daemon alive', this.fx.daemon.proc.exitCode === null && this.fx.daemon.proc.signalCode === null);

    const listed = await this.dbus.call(
      { t: 'dbus', member: 'List', signature: '', body: [] },
      this.cfg.readDeadlineMs,
    );
    const fromDaemon = ((listed.value as unknown[] | undefined)?.[0] ?? []) as [
      string,
      string[],
      string,
      bigint | number,
    ][];
    const daemon: Image[] = fromDaemon.map(([id, names, digest, size]) => ({
      id,
      names,
      digest,
      size: Number(size),
    }));
    let podman: Image[] = [];
    try {
      podman = (await this.fx.podmanList()).map(({ id, names, digest, size }) => ({
        id,
        names,
        digest,
        size,
      }));
      const same = listed.error === undefined && key(daemon) === key(podman);
      check('store equals podman image list', same, same ? undefined : diff(daemon, podman, listed.error));
    } catch (e) {
      check('store equals podman image list', false, `podman image list failed: ${String(e)}`);
    }

    const vl = await this.varlink.call(
      { t: 'varlink', method: 'org.bootc.Storage.List', params: {} },
      this.cfg.readDeadlineMs,
    );
    const overVarlink = ((vl.value as { images?: Image[] } | undefined)?.images ?? []) as Image[];
    const sameVl = vl.error === undefined && key(overVarlink) === key(daemon);
    check(
      'Varlink List equals D-Bus List',
      sameVl,
      sameVl ? undefined : `${vl.error ?? ''} ${diff(overVarlink, daemon)}`,
    );

    const missing: string[] = [];
    for (const ref of this.state.held) {
      const there = podman.some((i) => i.names.includes(ref));
      const ex = await this.dbus.call(
        { t: 'dbus', member: 'Exists', signature: 's', body: [ref] },
        this.cfg.readDeadlineMs,
      );
      if (!there || (ex.value as unknown[] | undefined)?.[0] !== true)
        missing.push(
          `${ref} (podman: ${there}, Exists: ${ex.error ?? String((ex.value as unknown[])?.[0])})`,
        );
    }
    check(
      `held keep images present (${this.state.held.size})`,
      missing.length === 0,
      missing.join('; ') || undefined,
    );

    const host = this.hostChanges();
    check('no mount leaked into the host namespace', host === '', host || undefined);
    const own = this.mine();
    const ownSame = own.join('\n') === this.ownMounts.join('\n');
    check('no mount leaked into our namespace', ownSame, ownSame ? undefined : lineDiff(this.ownMounts, own));

    const orphans = await this.orphans(pid);
    check('no orphaned podman/skopeo', orphans.length === 0, orphans.join('; ') || undefined);

    const f = pid === undefined ? undefined : processFigures(pid);
    const rssOk = f !== undefined && f.rssMiB <= this.cfg.rssLimitMiB;
    check(`daemon RSS ≤ ${this.cfg.rssLimitMiB} MiB`, rssOk, f ? `${f.rssMiB.toFixed(1)} MiB` : 'no daemon');
    const fdOk = f !== undefined && f.fds <= this.cfg.fdLimit;
    check(`daemon open fds ≤ ${this.cfg.fdLimit}`, fdOk, f ? `${f.fds} fds` : 'no daemon');
  }

  /** Waits until no job is queued, running or blocked (each is bounded by the daemon's own limits). */
  private async drain(): Promise<{ ok: boolean; detail?: string }> {
    const until = now() + this.cfg.drainTimeoutMs;
    const t0 = now();
    let last = '';
    while (now() < until) {
      const o = await this.dbus.call({ t: 'dbus', member: 'ListJobs', signature: '', body: [] }, 5_000);
      if (o.error === undefined) {
        const jobs = ((o.value as unknown[])[0] ?? []) as [number, string, string, string][];
        const active = jobs.filter((j) => ACTIVE.has(j[3]));
        if (active.length === 0) return { ok: true, detail: `drained in ${(now() - t0).toFixed(0)} ms` };
        last = active.map((j) => `${j[0]} ${j[1]} ${j[2]} ${j[3]}`).join(', ');
      } else last = `ListJobs: ${o.error}`;
      await sleep(200);
    }
    return { ok: false, detail: `still active after ${this.cfg.drainTimeoutMs} ms: ${last}` };
  }

  /** podman/skopeo (and their wrappers) started for our store that are not the live daemon's: given 10 s to go. */
  private async orphans(daemonPid: number | undefined): Promise<string[]> {
    const until = now() + 10_000;
    let found = markedProcesses(this.fx.sandbox.registriesConf, daemonPid);
    while (found.length > 0 && now() < until) {
      await sleep(250);
      found = markedProcesses(this.fx.sandbox.registriesConf, daemonPid);
    }
    return found;
  }

  close(): void {
    this.stopSampling();
    if (this.closed) return;
    this.closed = true;
    this.dbus.close();
    this.varlink.close();
  }
}

function lineDiff(before: string[], after: string[]): string {
  const gone = before.filter((l) => !after.includes(l)).map((l) => `- ${l}`);
  const added = after.filter((l) => !before.includes(l)).map((l) => `+ ${l}`);
  return [...gone, ...added].join('; ');
}

function diff(a: Image[], b: Image[], error?: string): string {
  const fmt = (i: Image) =>
    `${i.id.slice(0, 12)} [${[...i.names].sort().join(',')}] ${i.digest.slice(0, 19)} ${i.size}`;
  return `${error ? `${error}; ` : ''}${lineDiff(b.map(fmt), a.map(fmt)) || 'same entries, other order'}`;
}
