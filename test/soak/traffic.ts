// The simulated clients: root over D-Bus and Varlink in this process, nobody over both through the agent
// process. Each client makes one call at a time, picked by its own seeded stream, with a short pause between
// calls. A checkpoint pauses them all (each finishes the call it is in) and resumes them afterwards.

import { type Rng, type SoakConfig, sleep } from './config.js';
import type { Fixture } from './fixture.js';
import { NobodyAgent } from './nobody-agent.js';
import { type Op, OpFactory, type TrafficState, type Transport, type Uid } from './operations.js';
import type { Recorder } from './record.js';
import { type Call, DbusCaller, type Outcome, VarlinkCaller } from './transports.js';

type Exec = (call: Call, deadlineMs: number) => Promise<Outcome>;

interface Client {
  name: string;
  uid: Uid;
  t: Transport;
  exec: Exec;
  ops: OpFactory;
  rng: Rng;
}

export class Traffic {
  private paused: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private stopped = false;
  private readonly busy = new Map<string, Promise<void>>();
  private readonly loops: Promise<void>[] = [];
  private readonly dbus: DbusCaller[] = [];
  private readonly varlink: VarlinkCaller[] = [];
  readonly agent: NobodyAgent;
  private readonly clients: Client[];

  constructor(
    private readonly cfg: SoakConfig,
    fx: Fixture,
    state: TrafficState,
    private readonly recorder: Recorder,
    rng: Rng,
  ) {
    this.agent = new NobodyAgent({ bus: fx.bus.address, varlink: fx.varlinkSocket });
    const clients: Client[] = [];
    const add = (uid: Uid, t: Transport, n: number, exec: (i: number) => Exec) => {
      for (let i = 0; i < n; i++) {
        const r = rng.fork();
        clients.push({
          name: `${uid}-${t}-${i}`,
          uid,
          t,
          exec: exec(i),
          ops: new OpFactory(r, state, t, uid),
          rng: r,
        });
      }
    };
    add('root', 'dbus', cfg.clients.rootDbus, () => {
      const c = new DbusCaller(fx.bus.address);
      this.dbus.push(c);
      return (call, ms) => c.call(call as Extract<Call, { t: 'dbus' }>, ms);
    });
    add('root', 'varlink', cfg.clients.rootVarlink, () => {
      const c = new VarlinkCaller(fx.varlinkSocket);
      this.varlink.push(c);
      return (call, ms) => c.call(call as Extract<Call, { t: 'varlink' }>, ms);
    });
    add('nobody', 'dbus', cfg.clients.nobodyDbus, (i) => (call, ms) => this.agent.call(i, call, ms));
    add(
      'nobody',
      'varlink',
      cfg.clients.nobodyVarlink,
      (i) => (call, ms) => this.agent.call(100 + i, call, ms),
    );
    this.clients = clients;
  }

  start(): void {
    for (const c of this.clients) this.loops.push(this.loop(c));
  }

  private async loop(c: Client): Promise<void> {
    while (!this.stopped) {
      if (this.paused) await this.paused;
      if (this.stopped) break;
      const work = this.run(c, c.ops.next());
      this.busy.set(c.name, work);
      await work;
      this.busy.delete(c.name);
      await sleep(c.rng.between(this.cfg.thinkMs));
    }
  }

  /** One op and whatever it leads to (a StartPull's cancel, a finished pull's removal). */
  private async run(c: Client, first: Op): Promise<void> {
    let op: Op | undefined = first;
    while (op) {
      const o = await c.exec(op.call, op.deadlineMs);
      this.recorder.record(c.name, c.uid, c.t, op, o);
      const next: { afterMs: number; op: Op } | undefined = op.next?.(o);
      if (!next) return;
      await sleep(next.afterMs);
      op = next.op;
    }
  }

  /** Stops new calls and waits for every client's current call (each has a deadline). */
  async pause(): Promise<void> {
    if (!this.paused) this.paused = new Promise((r) => (this.release = r));
    await Promise.all(this.busy.values());
  }

  resume(): void {
    this.release?.();
    this.paused = undefined;
    this.release = undefined;
  }

  /** Ends the traffic: every client finishes its call, then its connection is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await Promise.all(this.loops);
    for (const c of this.dbus) c.close();
    for (const c of this.varlink) c.close();
    this.agent.stop();
  }

  /** Varlink connections the root clients made, and calls retried after the server closed an idle one. */
  reconnects(): { connects: number; idleRetries: number } {
    return {
      connects: this.varlink.reduce((a, c) => a + c.connects, 0),
      idleRetries: this.varlink.reduce((a, c) => a + c.idleRetries, 0),
    };
  }
}
