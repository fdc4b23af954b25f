// The serialized queue on its own: FIFO, one at a time, joining identical requests, the cap, cancel of queued
// and running jobs, and refusal once closed.

import { describe, expect, it } from 'vitest';
import type { JobContext } from '../../src/jobs/job.js';
import { JobQueue } from '../../src/jobs/job-queue.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const req = (key: string, work: (ctx: JobContext) => Promise<unknown>) => ({
  kind: 'pull' as const,
  target: key,
  key,
  owner: 0,
  work,
});

async function name(p: Promise<unknown>) {
  return p.then(
    () => 'ok',
    (e: Error) => e.name,
  );
}

describe('JobQueue', () => {
  it('runs one job at a time, in order, and joins identical requests', async () => {
    const q = new JobQueue();
    const order: string[] = [];
    const gate = deferred();
    const a = q.submit(
      req('a', async () => {
        order.push('a-start');
        await gate.promise;
        order.push('a-end');
        return 'A';
      }),
    );
    const b = q.submit(
      req('b', async () => {
        order.push('b');
        return 'B';
      }),
    );
    const a2 = q.submit(req('a', async () => 'never'));
    expect(a2.joined).toBe(true);
    expect(a2.job).toBe(a.job);
    expect(b.job.state).toBe('queued');
    expect(q.list().map((j) => j.id)).toEqual([a.job.id, b.job.id]);
    gate.resolve();
    expect(await a.job.result).toBe('A');
    expect(await b.job.result).toBe('B');
    expect(order).toEqual(['a-start', 'a-end', 'b']);
    expect(q.idle).toBe(true);
  });

  it('refuses with Busy past the cap of waiting jobs', async () => {
    const q = new JobQueue({ maxQueued: 2 });
    const gate = deferred();
    q.submit(req('running', () => gate.promise));
    q.submit(req('w1', async () => undefined));
    q.submit(req('w2', async () => undefined));
    expect(() => q.submit(req('w3', async () => undefined))).toThrow(
      expect.objectContaining({ name: 'Busy' }),
    );
    expect(q.submit(req('w1', async () => undefined)).joined).toBe(true); // joining needs no room
    gate.resolve();
  });

  it('cancels a queued job at once and a running job through its signal', async () => {
    const q = new JobQueue();
    const running = q.submit(
      req(
        'r',
        (ctx) =>
          new Promise((_res, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('killed')))),
      ),
    );
    const queued = q.submit(req('q', async () => 'never'));
    queued.job.cancel();
    expect(queued.job.state).toBe('canceled');
    expect(await name(queued.job.result)).toBe('Canceled');
    running.job.cancel();
    expect(await name(running.job.result)).toBe('Canceled');
    expect(running.job.state).toBe('canceled');
    const next = q.submit(req('n', async () => 'next'));
    expect(await next.job.result).toBe('next');
  });

  it('reports done, not Canceled, when a cancel arrives after the work completed', async () => {
    const q = new JobQueue();
    const holder: { job?: { cancel(): void } } = {};
    const { job } = q.submit(
      req('late', async () => {
        await Promise.resolve(); // the work has finished its last step when the cancel lands
        holder.job?.cancel(); // e.g. a CancelJob arriving while the job publishes its result
        return 'removed ids';
      }),
    );
    holder.job = job;
    expect(await job.result).toBe('removed ids');
    expect(job.state).toBe('done');
  });

  it('refuses new work once closed, and cancelAll cancels what is left', async () => {
    const q = new JobQueue();
    const gate = deferred();
    const running = q.submit(
      req('r', (ctx) =>
        Promise.race([
          gate.promise,
          new Promise((_r, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('x')))),
        ]),
      ),
    );
    const waiting = q.submit(req('w', async () => undefined));
    const all = q.cancelAll();
    expect(() => q.submit(req('new', async () => undefined))).toThrow(/stopping/);
    await all;
    expect(await name(running.job.result)).toBe('Canceled');
    expect(await name(waiting.job.result)).toBe('Canceled');
    expect(q.idle).toBe(true);
  });
});

describe('requesters of a joined job', () => {
  it('withdraws one requester (its call ends Canceled), keeps the job for the others, stops it with the last', async () => {
    const q = new JobQueue();
    const gate = deferred();
    const work = async (ctx: JobContext) => {
      await Promise.race([
        gate.promise,
        new Promise((_r, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('aborted')))),
      ]);
      return 'pulled';
    };
    const { job } = q.submit(req('x', work));
    job.addRequester('bus:a', 1000);
    const { job: same, joined } = q.submit(req('x', work));
    expect(joined).toBe(true);
    same.addRequester('bus:b', 0);
    const a = job.resultFor('bus:a');
    const b = job.resultFor('bus:b');
    expect(job.isWantedBy(1000, 'bus:a')).toBe(true);
    expect(job.isWantedBy(1000)).toBe(true); // another connection of the same uid
    expect(job.isWantedBy(65534, 'bus:c')).toBe(false);
    expect(job.withdraw(1000, 'bus:a')).toBe(false); // bus:b still wants it
    expect(await name(a)).toBe('Canceled');
    expect(job.finished).toBe(false);
    gate.resolve();
    expect(await b).toBe('pulled');
  });

  it('cancels the job for everyone when its last requester withdraws, by uid from another connection', async () => {
    const q = new JobQueue();
    const { job } = q.submit(
      req(
        'y',
        (ctx) => new Promise((_r, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('x')))),
      ),
    );
    job.addRequester('bus:a', 1000);
    job.addRequester('bus:a2', 1000);
    const a = job.resultFor('bus:a');
    expect(job.withdraw(1000, 'bus:cli')).toBe(true); // every request of uid 1000 goes; nobody is left
    expect(await name(a)).toBe('Canceled');
    expect(await name(job.result)).toBe('Canceled');
  });
});
