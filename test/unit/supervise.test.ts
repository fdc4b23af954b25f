// The supervised runner against real small shell and node children: group kill reaching grandchildren, the
// time limit, stdout overflow, extra fds, a socket as stdin/stdout, stderr lines and SIGTERM→SIGKILL
// escalation; and execa, which it runs them with, loaded on the first spawn only (what is asked of a child
// before execa is there is kept for it).

import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { runSupervised, startSupervised } from '../../src/process/supervise.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('bsd-supervise-');
});
afterEach(() => tmp.remove());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('runs a program to completion: exit code, stdout, stderr tail and lines', async () => {
  const lines: string[] = [];
  const r = await runSupervised('/bin/sh', ['-c', 'printf "out\\n"; printf "a\\nb\\n\\nlast" >&2; exit 3'], {
    captureStdout: true,
    onStderrLine: (l) => lines.push(l),
  });
  expect(r).toMatchObject({ exitCode: 3, signal: null, stdout: 'out\n', stderrTail: 'a\nb\n\nlast' });
  expect(r.stopped).toBeUndefined();
  expect(r.spawnError).toBeUndefined();
  expect(lines).toEqual(['a', 'b', 'last']);
  expect(r.argv[0]).toBe('/bin/sh');
});

it('keeps only the tail of stderr', async () => {
  const r = await runSupervised('/bin/sh', ['-c', 'printf "%0100d" 0 >&2; printf END >&2'], {
    stderrTailChars: 10,
  });
  expect(r.stderrTail).toBe('0000000END');
});

it('passes the environment exactly and runs in cwd', async () => {
  const r = await runSupervised('/bin/sh', ['-c', `echo "$ONLY:\${HOME-unset}:$(pwd)"`], {
    env: { ONLY: 'yes', PATH: '/usr/bin:/bin' },
    cwd: tmp.path,
    captureStdout: true,
  });
  expect(r.stdout).toBe(`yes:unset:${tmp.path}\n`);
});

it('reports a program that cannot be started', async () => {
  const r = await runSupervised('/nonexistent/program', []);
  expect(r.spawnError?.code).toBe('ENOENT');
  expect(r.exitCode).toBeNull();
});

it('gives extra fds at the indexes asked, and /dev/null in the unused slots 3 and 4', async () => {
  const file = join(tmp.path, 'three');
  writeFileSync(file, 'from fd three');
  const out = join(tmp.path, 'four');
  const fd3 = openSync(file, 'r');
  const fd4 = openSync(out, 'w');
  try {
    const r = await runSupervised('/bin/sh', ['-c', 'cat <&3; echo written >&4'], {
      fds: { 3: fd3, 4: fd4 },
      captureStdout: true,
    });
    expect(r.stdout).toBe('from fd three');
    expect(readFileSync(out, 'utf8')).toBe('written\n');
  } finally {
    closeSync(fd3);
    closeSync(fd4);
  }
  const r = await runSupervised('/bin/sh', ['-c', 'readlink /proc/self/fd/3 /proc/self/fd/4'], {
    captureStdout: true,
  });
  expect(r.stdout).toBe('/dev/null\n/dev/null\n');
});

it('puts the child in its own process group', async () => {
  const r = await runSupervised('/bin/sh', ['-c', 'ps -o pgid= -p $$; echo $$'], { captureStdout: true });
  const [pgid, pid] = r.stdout.trim().split(/\s+/);
  expect(pgid).toBe(pid);
  expect(Number(pgid)).not.toBe(process.pid);
});

it('cancel reaches a grandchild that holds the pipes', async () => {
  const ac = new AbortController();
  const pidFile = join(tmp.path, 'grandchild');
  const p = runSupervised('/bin/sh', ['-c', `sleep 60 & echo $! > ${pidFile}; wait`], {
    signal: ac.signal,
    killGraceMs: 2000,
  });
  await waitFor(() => readFileSafe(pidFile) !== '');
  const grandchild = Number(readFileSafe(pidFile));
  expect(alive(grandchild)).toBe(true);
  ac.abort();
  const r = await p;
  expect(r.stopped).toBe('canceled');
  expect(r.signal).toBe('SIGTERM');
  await waitFor(() => !alive(grandchild));
});

it('a signal already aborted still stops the child', async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await runSupervised('/bin/sleep', ['30'], { signal: ac.signal });
  expect(r.stopped).toBe('canceled');
});

it('the time limit stops the child and its descendants', async () => {
  const t0 = Date.now();
  const r = await runSupervised('/bin/sh', ['-c', 'sleep 30 | cat'], { timeoutMs: 200 });
  expect(r.stopped).toBe('timeout');
  expect(Date.now() - t0).toBeLessThan(5000);
});

it('escalates to SIGKILL after the grace period when SIGTERM is ignored', async () => {
  // The child ignores SIGTERM and keeps writing; only SIGKILL after the grace period ends it. It is stopped once
  // it says its handler is in place (a busy machine can take longer than any fixed delay to start node).
  let ready!: () => void;
  const handlerSet = new Promise<void>((r) => {
    ready = r;
  });
  const p = startSupervised(
    process.execPath,
    [
      '-e',
      "process.on('SIGTERM', () => {}); console.error('ready'); setInterval(() => process.stderr.write('.'), 50)",
    ],
    { killGraceMs: 400, onStderrLine: (l) => l === 'ready' && ready() },
  );
  await handlerSet;
  const t0 = Date.now();
  p.stop('timeout');
  const r = await p.result;
  const took = Date.now() - t0;
  expect(r.stopped).toBe('timeout');
  expect(r.signal).toBe('SIGKILL');
  expect(took).toBeGreaterThanOrEqual(350);
  expect(took).toBeLessThan(5000);
});

it('a grandchild that left the group cannot keep the call open once the pipes are cut', async () => {
  const pidFile = join(tmp.path, 'escaped');
  const t0 = Date.now();
  const r = await runSupervised(
    '/bin/sh',
    ['-c', `setsid sh -c 'trap "" TERM; echo $$ > ${pidFile}; sleep 30' & sleep 30`],
    { timeoutMs: 300, killGraceMs: 200 },
  );
  expect(r.stopped).toBe('timeout');
  expect(Date.now() - t0).toBeLessThan(5000);
  const escaped = Number(readFileSafe(pidFile));
  if (escaped > 0) process.kill(escaped, 'SIGKILL');
});

it('killGraceMs 0 sends SIGKILL at once', async () => {
  const r = await runSupervised('/bin/sleep', ['30'], { timeoutMs: 100, killGraceMs: 0 });
  expect(r).toMatchObject({ stopped: 'timeout', signal: 'SIGKILL' });
});

it('stdout beyond the cap stops the child (overflow) and keeps only what fitted', async () => {
  const r = await runSupervised('/bin/sh', ['-c', 'yes overflow'], {
    captureStdout: true,
    maxStdoutBytes: 64 * 1024,
  });
  expect(r.stopped).toBe('overflow');
  expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(64 * 1024);
});

it('a piped extra fd is readable from the parent', async () => {
  const child = startSupervised('/bin/sh', ['-c', 'echo ready >&3'], { fds: { 3: 'pipe' } });
  const chunks: Buffer[] = [];
  child.stream(3)?.on('data', (c: Buffer) => chunks.push(c));
  const r = await child.result;
  expect(r.exitCode).toBe(0);
  expect(Buffer.concat(chunks).toString()).toBe('ready\n');
});

it('never signals a child after it settled', async () => {
  const child = startSupervised('/bin/true', []);
  await child.result;
  expect(() => child.kill('SIGKILL')).not.toThrow();
  child.stop('canceled');
  expect((await child.result).stopped).toBeUndefined();
});

/** The runner as a fresh import: execa not loaded yet, so the next spawn is its first. */
async function freshRunner() {
  vi.resetModules();
  const loader = await import('../../src/process/execa-loader.js');
  const runner = await import('../../src/process/supervise.js');
  return { ...runner, execaIfLoaded: loader.execaIfLoaded };
}

it('loads execa on the first spawn, not when the runner is imported', async () => {
  const { startSupervised: start, execaIfLoaded } = await freshRunner();
  expect(execaIfLoaded()).toBeUndefined();
  const child = start('/bin/sh', ['-c', 'echo $$'], { captureStdout: true });
  expect(child.pid).toBeUndefined(); // execa is still loading
  const pid = await child.started;
  expect(execaIfLoaded()).toBeDefined();
  expect(child.pid).toBe(pid);
  expect((await child.result).stdout).toBe(`${pid}\n`);
  // Once loaded, a spawn starts at once.
  const next = start('/bin/true', []);
  expect(next.pid).toBeGreaterThan(0);
  await next.result;
});

it('a stop asked for while execa loads means the child is never started', async () => {
  const { startSupervised: start } = await freshRunner();
  const child = start('/bin/sleep', ['30']);
  child.stop('canceled');
  expect(await child.started).toBeUndefined();
  expect(await child.result).toMatchObject({ stopped: 'canceled', exitCode: null, signal: null });
});

it('a signal sent while execa loads reaches the child once it runs', async () => {
  const { startSupervised: start } = await freshRunner();
  const child = start('/bin/sleep', ['30']);
  child.kill('SIGKILL');
  expect(await child.started).toBeGreaterThan(0);
  expect(await child.result).toMatchObject({ signal: 'SIGKILL', stopped: undefined });
});

it('a piped extra fd can be read from before the first spawn has started', async () => {
  const { startSupervised: start } = await freshRunner();
  const child = start('/bin/sh', ['-c', 'echo early >&3'], { fds: { 3: 'pipe' } });
  const notify = child.stream(3);
  expect(notify).toBeDefined();
  const chunks: Buffer[] = [];
  notify?.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => notify?.once('end', r));
  await child.result;
  await ended;
  expect(Buffer.concat(chunks).toString()).toBe('early\n');
});

it('started settles undefined for a program that cannot be started', async () => {
  const child = startSupervised('/nonexistent/program', [], { fds: { 3: 'pipe' } });
  expect(await child.started).toBeUndefined();
  expect((await child.result).spawnError?.code).toBe('ENOENT');
  const notify = child.stream(3)!;
  const ended = new Promise((r) => notify.once('end', r));
  notify.resume();
  await ended; // a reader of the fd is never left waiting
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

it('gives a connected socket as stdin and stdout; the peer sees the end once the child exits', async () => {
  const path = join(tmp.path, 'sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const peer = createConnection(path);
  const socket = await accepted;
  server.close();
  const child = startSupervised('/bin/sh', ['-c', 'read line; echo "got $line"; echo note >&2'], {
    stdinout: socket,
  });
  await child.started;
  socket.destroy(); // the child holds it now
  let heard = '';
  peer.on('data', (d: Buffer) => {
    heard += d.toString();
  });
  const ended = new Promise<void>((resolve) => peer.on('end', resolve));
  peer.write('hello\n');
  const r = await child.result;
  await ended;
  expect(heard).toBe('got hello\n');
  expect(r).toMatchObject({ exitCode: 0, stderrTail: 'note\n' });
  peer.destroy();
});

it('sameGroup keeps the child in our process group, with its own stdio', async () => {
  const r = await runSupervised('/bin/sh', ['-c', 'ps -o pgid= -p $$; echo $$'], {
    sameGroup: true,
    captureStdout: true,
  });
  const [pgid, pid] = r.stdout.trim().split(/\s+/);
  expect(pgid).not.toBe(pid);
  expect(pgid).toBe(
    execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).trim(),
  );
});
