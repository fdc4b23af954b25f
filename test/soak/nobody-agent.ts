// The unprivileged clients: a separate node process running as nobody (uid 65534), since both the bus
// (EXTERNAL auth) and the Varlink socket (SO_PEERCRED) see a process's real uid. The soak sends it calls as
// JSON lines; it runs each on its bus connection or on the Varlink connection of that client slot (made again
// when closed) and answers one line per call with its outcome and its own timing.

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { REPO } from '../helpers/system-bus.js';
import { type Call, now, type Outcome } from './transports.js';

const NOBODY = 65534;

/**
 * Plain JavaScript, bundled with dbus-next into a directory every user can traverse (the checkout itself may
 * sit in a 0700 directory, as a `mktemp -d` clone does, where nobody could read dbus-next); stdin → calls,
 * stdout → outcomes.
 */
const AGENT = String.raw`
const net = require('node:net');
const readline = require('node:readline');
const dbus = require('dbus-next');
const now = () => performance.timeOrigin + performance.now();
const bus = dbus.sessionBus({ busAddress: process.env.SOAK_BUS });
bus.on('error', () => {});
const conns = new Map();
const lastUse = new Map();
const closed = () => Object.assign(new Error('varlink connection closed'), { code: 'varlink connection closed' });
function vconn(slot) {
  const have = conns.get(slot);
  if (have) return Promise.resolve(have);
  return new Promise((resolve, reject) => {
    const c = { sock: net.connect(process.env.SOAK_VARLINK), pending: [], buf: '', up: false };
    const fail = (e) => { if (conns.get(slot) === c) conns.delete(slot); for (const p of c.pending.splice(0)) p.fail(e); if (!c.up) reject(e); };
    c.sock.on('error', fail);
    c.sock.on('close', () => fail(closed()));
    c.sock.on('connect', () => { c.up = true; conns.set(slot, c); resolve(c); });
    c.sock.on('data', (d) => {
      c.buf += d.toString();
      let z;
      while ((z = c.buf.indexOf('\0')) >= 0) {
        const m = c.buf.slice(0, z);
        c.buf = c.buf.slice(z + 1);
        const p = c.pending.shift();
        if (p) { try { p.ok(JSON.parse(m)); } catch (e) { p.fail(e); } }
      }
    });
  });
}
async function varlink(slot, call, retry) {
  const idle = now() - (lastUse.get(slot) || now());
  try {
    const c = await vconn(slot);
    lastUse.set(slot, now());
    const reply = await new Promise((ok, fail) => {
      c.pending.push({ ok, fail });
      c.sock.write(JSON.stringify({ method: call.method, parameters: call.params }) + '\0');
    });
    if (reply.error) return { error: reply.error, text: String((reply.parameters || {}).message || '') };
    return {};
  } catch (e) {
    if (retry && e.code === 'varlink connection closed' && idle > 45000) return varlink(slot, call, false);
    throw e;
  }
}
async function run(req) {
  const c = req.call;
  try {
    if (c.t === 'varlink') return await varlink(req.slot, c, true);
    await bus.call(new dbus.Message({ destination: 'org.bootc.Storage', path: '/org/bootc/Storage',
      interface: 'org.bootc.Storage', member: c.member, signature: c.signature, body: c.body }));
    return {};
  } catch (e) {
    if (e && typeof e.type === 'string') return { error: e.type, text: String(e.text || '') };
    const code = e && typeof e.code === 'string' ? e.code : String(e && e.message);
    return { error: 'transport: ' + code, text: String(e && e.message) };
  }
}
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const req = JSON.parse(line);
  const start = now();
  const r = await run(req);
  process.stdout.write(JSON.stringify({ id: req.id, start, end: now(), ...r }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write('ready\n');
`;

interface Pending {
  resolve(o: Outcome): void;
  start: number;
}

export class NobodyAgent {
  private proc: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Times the agent process was (re)started. */
  starts = 0;

  /** The agent bundled (once) into a directory of its own that nobody can read, and the directory. */
  private bundled: Promise<{ dir: string; file: string }> | undefined;

  constructor(private readonly env: { bus: string; varlink: string }) {}

  private bundle(): Promise<{ dir: string; file: string }> {
    this.bundled ??= (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bsd-soak-agent-'));
      chmodSync(dir, 0o755);
      const file = join(dir, 'agent.cjs');
      await build({
        stdin: { contents: AGENT, resolveDir: REPO, loader: 'js' },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        external: ['x11', 'usocket'],
        outfile: file,
        logLevel: 'error',
      });
      return { dir, file };
    })();
    return this.bundled;
  }

  /** Runs `call` as nobody on client slot `slot`; a call unanswered by `deadlineMs` comes back timed out. */
  async call(slot: number, call: Call, deadlineMs: number): Promise<Outcome> {
    const start = now();
    try {
      await this.spawn();
    } catch (e) {
      return { start, end: now(), error: `transport: ${String(e)}` };
    }
    const id = this.nextId++;
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ start, end: now(), timedOut: true, error: 'deadline passed' });
      }, deadlineMs);
      this.pending.set(id, {
        start,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      });
      this.proc?.stdin?.write(`${JSON.stringify({ id, slot, call })}\n`);
    });
  }

  private async spawn(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.ready) return this.ready;
    const { file } = await this.bundle();
    // Another call may have started it while this one waited for the bundle.
    if (this.proc && this.proc.exitCode === null && this.ready) return this.ready;
    const proc = spawn(process.execPath, [file], {
      cwd: '/',
      uid: NOBODY,
      gid: NOBODY,
      env: { PATH: process.env.PATH, SOAK_BUS: this.env.bus, SOAK_VARLINK: this.env.varlink },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.proc = proc;
    this.starts += 1;
    proc.stdin?.on('error', () => undefined);
    this.ready = new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        if (line === 'ready') return resolve();
        const r = JSON.parse(line) as Outcome & { id: number };
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        const { id: _id, ...outcome } = r;
        p.resolve(outcome);
      });
      proc.once('exit', (code, signal) => {
        reject(new Error(`the nobody agent exited (${code ?? signal})`));
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.resolve({
            start: p.start,
            end: now(),
            error: `transport: the nobody agent exited (${code ?? signal})`,
          });
        }
      });
    });
    return this.ready;
  }

  stop(): void {
    this.proc?.stdin?.end();
    this.proc?.kill('SIGTERM');
    void this.bundled?.then(({ dir }) => rmSync(dir, { recursive: true, force: true }));
  }
}
