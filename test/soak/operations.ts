// What the simulated clients call: for each kind of call (reads, pulls, removes, prunes, GC, cancels,
// malformed and oversized calls), on each transport, as root or as nobody, the call and how its answer is
// judged (judge.ts). Root pulls keep and churn images, removes and prunes only churn (prune roots always hold
// every keep image), collects garbage (the deployment binds every keep image), cancels pulls it started;
// nobody aims its writes at what root holds, and polkit must refuse every one.

import { dbusCall, malformedCall, oversizedCall, varlinkCall } from './bad-calls.js';
import type { Rng } from './config.js';
import type { SoakImages } from './fixture.js';
import {
  type Allowed,
  type CallKind,
  JOB_ERRORS,
  type Judge,
  judgeWith,
  type Transport,
  type Uid,
} from './judge.js';
import type { Call, Outcome } from './transports.js';

export type { CallKind, Transport, Uid } from './judge.js';
export const CALL_KINDS: readonly CallKind[] = [
  'read',
  'pull',
  'remove',
  'prune',
  'gc',
  'cancel',
  'malformed',
  'oversized',
];

export interface Op {
  kind: CallKind;
  /** The method (or what the malformed call is). */
  name: string;
  call: Call;
  deadlineMs: number;
  /** Judges an answer from the daemon (lost connections and deadlines are judged by the recorder). */
  judge: Judge;
  /** The latency series an answered call belongs to. */
  group?: string;
  /** Runs once the call was judged ok (a keep image now held). */
  onOk?: () => void;
  /** After the call: what the client does next (a cancel after its StartPull), if anything. */
  next?: (o: Outcome) => { afterMs: number; op: Op } | undefined;
}

/** What the clients share: the images, the keep images a root client holds, recent job IDs. */
export interface TrafficState {
  images: SoakImages;
  /** Keep images a root client pulled successfully (nothing in the soak removes them afterwards). */
  held: Set<string>;
  jobIds: number[];
  deadlines: { read: number; job: number };
}

/** The same method on either transport: D-Bus signature and arguments, Varlink parameter names. */
function both(t: Transport, name: string, sig: string, args: unknown[], names: string[]): Call {
  if (t === 'dbus') return dbusCall(name, sig, args);
  return varlinkCall(name, Object.fromEntries(names.map((n, i) => [n, args[i]])));
}

const POLICIES = ['missing', 'always', 'newer'] as const;

/** A job's state in a ListJobs answer (`ended` when it is no longer listed). */
function jobState(o: Outcome, id: number): string {
  if (o.error !== undefined) return 'unknown';
  const v = o.value as unknown[] | { jobs?: { id: number; state: string }[] } | undefined;
  if (Array.isArray(v)) {
    const row = ((v[0] ?? []) as [number, string, string, string][]).find((j) => j[0] === id);
    return row?.[3] ?? 'ended';
  }
  return v?.jobs?.find((j) => j.id === id)?.state ?? 'ended';
}

/** The job ID a Start method answered with. */
function startedId(o: Outcome): number | undefined {
  const v = o.value as unknown[] | { id?: unknown } | undefined;
  const id = Array.isArray(v) ? v[0] : v?.id;
  return typeof id === 'number' ? id : undefined;
}

interface OpExtra {
  allowed?: Allowed;
  mustFail?: string;
  group?: string;
  deadlineMs?: number;
  onOk?: () => void;
}

export class OpFactory {
  constructor(
    private readonly rng: Rng,
    private readonly state: TrafficState,
    private readonly t: Transport,
    private readonly uid: Uid,
  ) {}

  /** The next call this client makes. */
  next(): Op {
    const root = this.uid === 'root';
    const kind = this.rng.weighted<CallKind>([
      ['read', root ? 40 : 55],
      ['pull', root ? 20 : 8],
      ['remove', root ? 6 : 5],
      ['prune', 3],
      ['gc', 3],
      ['cancel', root ? 6 : 5],
      ['malformed', root ? 10 : 14],
      ['oversized', root ? 2 : 0],
    ]);
    return this[kind]();
  }

  private op(kind: CallKind, name: string, call: Call, extra: OpExtra = {}): Op {
    const job = kind !== 'read' && kind !== 'malformed' && kind !== 'oversized';
    const { allowed, mustFail, ...rest } = extra;
    return {
      kind,
      name,
      call,
      deadlineMs: job ? this.state.deadlines.job : this.state.deadlines.read,
      judge: judgeWith(this.t, this.uid, {
        kind,
        allowed,
        mustFail,
        mustRefuse: this.uid === 'nobody' && job,
      }),
      ...rest,
    };
  }

  private someImage(): string {
    const { keep, churn } = this.state.images;
    return this.rng.chance(0.25) ? this.rng.pick(keep) : this.rng.pick(churn);
  }

  /** Marks keep images as held once a root call that leaves them in the store succeeded. */
  private holds(images: string[]): (() => void) | undefined {
    if (this.uid !== 'root') return undefined;
    return () => {
      for (const i of images) if (this.state.images.keep.includes(i)) this.state.held.add(i);
    };
  }

  private read(): Op {
    const name = this.rng.weighted([
      ['Exists', 30],
      ['List', 15],
      ['ListJobs', 15],
      ['ListDeployments', 8],
      ['ListBoundImages', 8],
      ['PreviewGarbageCollect', 8],
      ['GetJob', this.t === 'varlink' ? 6 : 0],
    ] as const);
    const group = `read|${this.t}`;
    if (name === 'Exists') {
      return this.op('read', name, both(this.t, name, 's', [this.someImage()], ['image']), { group });
    }
    if (name === 'GetJob') {
      const id = this.state.jobIds.length > 0 ? this.rng.pick(this.state.jobIds) : 1;
      return this.op('read', name, varlinkCall(name, { id }), { group, allowed: { NotFound: 'always' } });
    }
    return this.op('read', name, both(this.t, name, '', [], []), { group });
  }

  private pull(): Op {
    if (this.uid === 'root' && this.rng.chance(0.08)) {
      const call = both(this.t, 'SyncBoundImages', 's', [''], ['deployment']);
      const onOk = this.holds([this.state.images.keep[0]!]);
      return this.op('pull', 'SyncBoundImages', call, {
        allowed: JOB_ERRORS.pull,
        ...(onOk ? { onOk } : {}),
      });
    }
    const image = this.someImage();
    const call = both(this.t, 'Pull', 'ss', [image, this.rng.pick(POLICIES)], ['image', 'policy']);
    const onOk = this.holds([image]);
    return this.op('pull', 'Pull', call, {
      group: `pull|${this.t}`,
      allowed: JOB_ERRORS.pull,
      ...(onOk ? { onOk } : {}),
    });
  }

  private remove(): Op {
    const { churn, churnIds, keep } = this.state.images;
    // nobody aims at what root holds: polkit must refuse it before anything is queued.
    const targets =
      this.uid === 'nobody'
        ? [this.rng.pick(keep)]
        : this.rng.weighted<string[]>([
            [[this.rng.pick(churn)], 6],
            [[this.rng.pick(churnIds)], 2],
            [[this.rng.pick(churn), this.rng.pick(churn)], 1],
          ]);
    return this.op('remove', 'Remove', both(this.t, 'Remove', 'as', [targets], ['images']), {
      allowed: JOB_ERRORS.remove,
    });
  }

  private prune(): Op {
    const { keep, churn } = this.state.images;
    const roots = this.uid === 'nobody' ? [keep[0]!] : [...keep, ...churn.filter(() => this.rng.chance(0.3))];
    return this.op('prune', 'Prune', both(this.t, 'Prune', 'as', [roots], ['roots']), {
      allowed: JOB_ERRORS.prune,
    });
  }

  private gc(): Op {
    const dryRun = this.uid === 'root' && this.rng.chance(0.5);
    return this.op('gc', 'GarbageCollect', both(this.t, 'GarbageCollect', 'b', [dryRun], ['dryRun']), {
      allowed: JOB_ERRORS.gc,
    });
  }

  private cancelJob(id: number, state?: string): Op {
    const name = state === undefined ? 'CancelJob' : `CancelJob (${state} job)`;
    return this.op('cancel', name, both(this.t, 'CancelJob', 'u', [id], ['id']), {
      allowed: JOB_ERRORS.cancel,
    });
  }

  /**
   * root: StartPull of a slow image (3 MiB at 1 MiB/s), a look at its state (ListJobs) a moment later, then
   * CancelJob, named by that state; nobody: CancelJob of one of root's jobs.
   */
  private cancel(): Op {
    if (this.uid === 'nobody') {
      return this.cancelJob(this.state.jobIds.length > 0 ? this.rng.pick(this.state.jobIds) : 1);
    }
    const image = this.rng.pick(this.state.images.slow);
    const startCall = both(this.t, 'StartPull', 'ss', [image, 'always'], ['image', 'policy']);
    // Queued and answered at once: a read's deadline.
    const start = this.op('pull', 'StartPull', startCall, { deadlineMs: this.state.deadlines.read });
    start.next = (o) => {
      const id = startedId(o);
      if (id === undefined) return undefined;
      this.state.jobIds.push(id);
      if (this.state.jobIds.length > 32) this.state.jobIds.shift();
      const look = this.op('read', 'ListJobs', both(this.t, 'ListJobs', '', [], []), {
        group: `read|${this.t}`,
      });
      look.next = (l) => {
        const cancel = this.cancelJob(id, jobState(l, id));
        // A pull that finished before its cancel leaves its image: remove it, so the next one runs long.
        cancel.next = (c) => {
          if (!c.error?.endsWith('NotFound')) return undefined;
          const rm = both(this.t, 'Remove', 'as', [[image]], ['images']);
          return { afterMs: 0, op: this.op('remove', 'Remove', rm, { allowed: JOB_ERRORS.remove }) };
        };
        return { afterMs: 0, op: cancel };
      };
      return { afterMs: this.rng.int(150, 1500), op: look };
    };
    return start;
  }

  private malformed(): Op {
    const bad = malformedCall(this.rng, this.t, this.uid, this.rng.pick(this.state.images.churn));
    return this.op('malformed', bad.name, bad.call, {
      allowed: bad.allowed,
      mustFail: 'malformed call accepted',
    });
  }

  private oversized(): Op {
    const big = oversizedCall(this.t);
    return this.op('oversized', big.name, big.call, {
      allowed: big.allowed,
      mustFail: 'oversized call accepted',
    });
  }
}
