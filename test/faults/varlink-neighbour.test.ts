// An unprivileged neighbour against the real daemon's Varlink socket (issue 21, items 1 and 2), with the real
// polkitd deciding: a connection handed to another process after its connecting process exited is never
// authorized as anyone (not from a read grant, not as the root process later given the same pid), and nobody's
// connections cannot keep root or another user out.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VarlinkClient } from '../../src/api/varlink/client.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

const NOBODY = { uid: 65534, gid: 65534 };
const dir = makeTempDir('bsd-varlink-neighbour-');
chmodSync(dir.path, 0o755); // nobody reaches the socket; polkit decides each call
const SOCKET = join(dir.path, 'org.bootc.Storage');
/** The hand-off script, copied where nobody can read it (the checkout may sit in a 0700 `mktemp -d` directory). */
const HANDOFF = join(dir.path, 'varlink-handoff.py');
copyFileSync(resolve(__dirname, '../helpers/varlink-handoff.py'), HANDOFF);
let s: Stack;
const children: ChildProcess[] = [];

beforeAll(async () => {
  s = await startStack({ daemonArgs: ['--varlink-socket', SOCKET] });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await s?.stop();
  dir.remove();
});

/**
 * The hand-off script as nobody, under a shell that outlives it (node would close the pipe to the script's
 * child when the script itself exits): its JSON lines, and a way to send the child commands.
 */
function startHandoff(image: string, silent = false) {
  const args = [HANDOFF, SOCKET, image, silent ? 'silent' : 'call'];
  const child = spawn('sh', ['-c', 'python3 "$0" "$1" "$2" "$3"; exec sleep 3600', ...args], {
    ...NOBODY,
    cwd: '/',
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  /** The connecting process (the script) has exited and was reaped: its pid is free. */
  const exited = (async () => {
    const { pid } = (await waitFor(() => lines.find((l) => l.step === 'parent'), 'the parent')) as {
      pid: number;
    };
    await waitFor(() => !existsSync(`/proc/${pid}`), `process ${pid} gone`);
  })();
  const next = async (step: string) =>
    (await waitFor(() => lines.find((l) => l.step === step), `the hand-off's "${step}"`)) as Record<
      string,
      unknown
    >;
  return {
    lines,
    exited,
    next,
    async send(cmd: unknown, step: string) {
      lines.splice(0); // the answer to this command is the next line of that step
      child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      return next(step);
    },
  };
}

/**
 * A process of `uid` with exactly `pid`, through ns_last_pid (the attack's reuse); undefined if another process
 * took the pid first every time.
 */
async function processWithPid(pid: number, uid: number): Promise<ChildProcess | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const p = spawn('sleep', ['60'], { stdio: 'ignore', uid, gid: uid });
    if (p.pid === pid) {
      children.push(p);
      return p;
    }
    p.kill('SIGKILL');
  }
  return undefined;
}

describe('a Varlink connection belongs to the process that opened it', () => {
  it('refuses and closes a connection whose connecting process exited, even with a read grant', async () => {
    const image = `${s.registry.host}/neighbour/none:1`;
    const h = startHandoff(image);
    // While the connecting process lives, nobody may read (polkit's yes, now remembered for the connection).
    expect((await h.next('before')).reply).toEqual({ parameters: { present: false } });
    await h.next('parent');
    await h.exited; // the connecting process is gone; its child holds the connection
    const after = await h.send(
      { method: 'org.bootc.Storage.Exists', parameters: { image } },
      'org.bootc.Storage.Exists',
    );
    expect(after.reply).toMatchObject({ error: 'org.varlink.service.PermissionDenied' });
    // ...and the connection is closed: nothing more is answered on it.
    const again = await h.send(
      { method: 'org.varlink.service.GetInfo', parameters: {} },
      'org.varlink.service.GetInfo',
    );
    expect(again.reply).toBe('closed');
    // The child's own connection is its own: it is answered.
    await h.send('reconnect', 'reconnect');
    const own = await h.send(
      { method: 'org.bootc.Storage.Exists', parameters: { image } },
      'org.bootc.Storage.Exists',
    );
    expect(own.reply).toEqual({ parameters: { present: false } });
  });

  it('never authorizes the connection as whichever process is later given the same pid', async () => {
    // As reproduced: no call while the connecting process lives; the first comes after its pid was reused.
    for (const [uid, method, parameters] of [
      // Another nobody process: a read polkit would allow it, so an answer would be authorization as it.
      [65534, 'org.bootc.Storage.Exists', { image: `${s.registry.host}/neighbour/none:2` }],
      // A root process: a Pull it would be allowed.
      [0, 'org.bootc.Storage.Pull', { image: '127.0.0.1:9/neighbour/x:1', policy: 'always' }],
    ] as const) {
      const h = startHandoff('unused', true);
      const { pid } = (await h.next('parent')) as { pid: number };
      await h.exited;
      const other = await processWithPid(pid, uid);
      expect(other, `a process of uid ${uid} with the departed pid ${pid}`).toBeDefined();
      const reply = await h.send({ method, parameters }, method);
      expect(reply.reply).toMatchObject({ error: 'org.varlink.service.PermissionDenied' });
      other?.kill('SIGKILL');
    }
    const jobs = await (await VarlinkClient.connect(SOCKET)).call('org.bootc.Storage.ListJobs');
    expect(jobs.jobs).toEqual([]); // nothing was queued
  });
});

describe('one user cannot deny the Varlink service to others', () => {
  it("nobody's idle connections fill nobody's share only: root and another user are answered", async () => {
    // The hand-off children above still hold connections as nobody: end them, and wait for their shares.
    for (const c of children) c.kill('SIGKILL');
    spawnSync('pkill', ['-KILL', '-u', '65534', '-f', 'varlink-handoff']);
    await waitFor(
      () => spawnSync('pgrep', ['-u', '65534', '-f', 'varlink-handoff']).status === 1,
      'no hand-off',
    );
    // 80 idle connections from one nobody process: 16 are admitted, the rest get Busy at once.
    const script = `
      const net = require('node:net');
      const socks = [];
      let busy = 0, open = 0;
      setTimeout(() => {
      for (let i = 0; i < 80; i++) {
        const c = net.connect(process.argv[1]);
        socks.push(c);
        c.on('data', (d) => { if (d.toString().includes('Busy')) busy++; });
        c.on('error', () => {});
        c.on('connect', () => { open++; });
      }
      }, 500); // the daemon has seen the hand-off children's connections close
      setTimeout(() => { console.log(JSON.stringify({ busy, open })); }, 2000);
      process.stdin.on('data', () => process.exit(0));
    `;
    const flood = spawn(process.execPath, ['-e', script, SOCKET], {
      ...NOBODY,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(flood);
    const counts = await new Promise<{ busy: number; open: number }>((r) =>
      flood.stdout!.once('data', (d: Buffer) => r(JSON.parse(d.toString()))),
    );
    expect(counts).toEqual({ busy: 64, open: 80 });
    // Root is answered, and so is another unprivileged user (uid 65533's own share).
    const root = await VarlinkClient.connect(SOCKET);
    expect(await root.call('org.bootc.Storage.Exists', { image: 'quay.io/x/y:1' })).toEqual({
      present: false,
    });
    root.close();
    const otherUser = `
      const net = require('node:net');
      const c = net.connect(process.argv[1]);
      let got = '';
      c.on('data', (d) => { got += d; if (got.includes('\\0')) { console.log(got.slice(0, -1)); c.end(); } });
      c.write(JSON.stringify({ method: 'org.bootc.Storage.Exists', parameters: { image: 'quay.io/x/y:1' } }) + '\\0');
    `;
    const other = await new Promise<string>((r, j) => {
      const p = spawn(process.execPath, ['-e', otherUser, SOCKET], { uid: 65533, gid: 65533 });
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
      });
      p.on('exit', () => r(out.trim()));
      p.on('error', j);
    });
    expect(JSON.parse(other)).toEqual({ parameters: { present: false } });
    flood.stdin!.write('x');
    await new Promise((r) => flood.once('exit', r));
  });

  it('answers a deeply nested message with InvalidParameter before parsing it, and stays responsive', async () => {
    const c = await VarlinkClient.connect(SOCKET);
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const raw = connect(SOCKET);
    let got = '';
    raw.on('data', (d: Buffer) => {
      got += d.toString();
    });
    const closed = new Promise<void>((r) => raw.once('close', () => r()));
    raw.write(`{"method":"org.bootc.Storage.Remove","parameters":{"images":${deep}}}\0`);
    await closed;
    expect(JSON.parse(got.slice(0, -1))).toEqual({
      error: 'org.varlink.service.InvalidParameter',
      parameters: { parameter: 'message' },
    });
    expect(await c.call('org.bootc.Storage.Exists', { image: 'quay.io/x/y:1' })).toEqual({ present: false });
    c.close();
  });
});
