// bootc-storaged as systemd runs it: D-Bus activation, readiness and watchdog, journald priorities, the real
// polkit refusing a non-root caller, idle exit and re-activation, and clean units. One booted container.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_NODE_OPTIONS } from '../helpers/daemon.js';
import {
  bootContainer,
  busctlCall,
  type Container,
  call,
  onPlatform,
  PLATFORM,
  UNIT,
} from './lib/container.js';

const VARLINK_SOCKET = '/run/bootc/org.bootc.Storage';
/** A minimal Varlink client, run with the node inside the container: one call, prints the reply. */
const VARLINK_CLIENT = `
const [path, method, params] = process.argv.slice(1);
const s = require('node:net').connect(path);
let buf = '';
s.on('connect', () => s.write(JSON.stringify({ method, parameters: JSON.parse(params || '{}') }) + '\\0'));
s.on('data', (d) => {
  buf += d;
  const i = buf.indexOf('\\0');
  if (i >= 0) { process.stdout.write(buf.slice(0, i)); s.end(); }
});
s.on('error', (e) => { console.error(e.code, e.message); process.exit(1); });
`;
const IDLE_SECONDS = 5;
/** The daemon pings every WATCHDOG_SECONDS/2; the margin keeps a slow machine from tripping the watchdog. */
const WATCHDOG_SECONDS = 8;
let c: Container;

/** The daemon's own journal lines (not systemd's about the unit, not podman's events). */
async function daemonLines(extra: string[] = []) {
  return (await c.journal(UNIT, extra)).filter((e) => e.SYSLOG_IDENTIFIER === 'bootc-storaged');
}

async function varlinkCall(method: string): Promise<string> {
  return c.run(['node', '-e', VARLINK_CLIENT, VARLINK_SOCKET, method]);
}

async function waitForState(unit: string, want: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const { ActiveState } = await c.show(unit, 'ActiveState');
    if (ActiveState === want) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`${unit} is still ${ActiveState}, not ${want}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  c = await bootContainer('service');
  // The administrator's way to change the unit: a drop-in. Short idle timeout for the idle test, debug logs
  // for the priority test, a short watchdog so its pings can be watched.
  await c.writeFile(
    `/etc/systemd/system/${UNIT}.d/50-test.conf`,
    `[Service]\nEnvironment=BOOTC_STORAGED_IDLE_TIMEOUT=${IDLE_SECONDS}\nEnvironment=BOOTC_STORAGED_LOG_LEVEL=debug\nWatchdogSec=${WATCHDOG_SECONDS}s\n`,
  );
  await c.run(['systemctl', 'daemon-reload']);
});

afterAll(async () => {
  await c?.stop();
});

describe(onPlatform('bootc-storaged under systemd'), () => {
  it('is not running until the first call, which D-Bus-activates it', async () => {
    expect((await c.show(UNIT, 'ActiveState')).ActiveState).toBe('inactive');
    expect((await c.exec(['systemctl', 'is-active', UNIT])).stdout.trim()).toBe('inactive');

    const [images] = await call(c, 'List');
    expect(images).toEqual([]);
    // The call is answered once the daemon owns its name and the store is open; READY=1 reaches systemd from
    // its datagram a few milliseconds later.
    await waitForState(UNIT, 'active', 10_000);
    const active = await c.exec(['systemctl', 'is-active', UNIT]);
    expect(active.stdout.trim()).toBe('active');
    expect(active.code).toBe(0);
    const props = await c.show(
      UNIT,
      'Type',
      'MainPID',
      'StatusText',
      'NRestarts',
      'FragmentPath',
      'DropInPaths',
    );
    expect(props.Type).toBe('notify'); // active therefore means READY=1 arrived
    expect(Number(props.MainPID)).toBeGreaterThan(0);
    expect(props.StatusText).toBe('serving /sysroot/ostree/bootc/storage');
    expect(props.NRestarts).toBe('0');
    // Debian's systemd says /lib/systemd/system (a symlink to /usr/lib/systemd/system there).
    expect(props.FragmentPath).toMatch(/^(\/usr)?\/lib\/systemd\/system\/bootc-storaged\.service$/);
    expect(props.DropInPaths).toContain('50-test.conf');
    // The bus started it: the activation request is in the bus's log, and the store now exists.
    const bus = await c.run(['journalctl', '-u', 'dbus.service', '--no-pager', '-o', 'cat']);
    expect(bus).toMatch(
      /Activating via systemd: service name='org\.bootc\.Storage' unit='bootc-storaged\.service'/,
    );
    expect((await c.exec(['test', '-d', '/sysroot/ostree/bootc/storage'])).code).toBe(0);
    const [present] = await call(c, 'Exists', 's', ['quay.io/nobody/nothing:1']);
    expect(present).toBe(false);
  });

  it('pings the watchdog and runs with the sandbox the unit declares', async () => {
    await call(c, 'List'); // well inside the idle timeout for what follows
    // Wait for a ping (every WATCHDOG_SECONDS/2); calls meanwhile keep the 5 s idle timeout away (pings are
    // not activity).
    const first = Number((await c.show(UNIT, 'WatchdogTimestampMonotonic')).WatchdogTimestampMonotonic);
    let latest = first;
    for (let i = 0; i < (WATCHDOG_SECONDS / 2 + 2) * 2 && latest === first; i++) {
      await new Promise((r) => setTimeout(r, 500));
      if (i % 2 === 0) await call(c, 'List');
      latest = Number((await c.show(UNIT, 'WatchdogTimestampMonotonic')).WatchdogTimestampMonotonic);
    }
    expect(latest).toBeGreaterThan(first);
    expect((await c.show(UNIT, 'NRestarts')).NRestarts).toBe('0');
    expect((await c.show(UNIT, 'ActiveState')).ActiveState).toBe('active');

    const MainPID = (await c.show(UNIT, 'MainPID')).MainPID ?? '0';
    const status = await c.run(['cat', `/proc/${MainPID}/status`]);
    // CAP_SYS_ADMIN CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_SETFCAP CAP_MKNOD CAP_SYS_CHROOT
    const want = [21, 0, 1, 3, 4, 31, 27, 18].reduce((m, bit) => m | (1n << BigInt(bit)), 0n);
    expect(BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(status)![1]}`)).toBe(want);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    expect(status).toMatch(/Seccomp:\s+2/);
    // ProtectSystem=strict: /usr is read-only for the daemon, the store's directory is not.
    const ro = await c.exec(['nsenter', '-t', MainPID, '-m', '--', 'touch', '/usr/bootc-storaged-probe']);
    expect(ro.stderr).toMatch(/Read-only file system/);
    await c.run(['nsenter', '-t', MainPID, '-m', '--', 'touch', '/sysroot/ostree/bootc/probe']);
    await c.run(['rm', '/sysroot/ostree/bootc/probe']);
    // node got the unit's flags whole (the bundle's code cache is made with them; V8 rejects it otherwise).
    const environ = (await c.run(['cat', `/proc/${MainPID}/environ`])).split('\0');
    expect(environ).toContain(`NODE_OPTIONS=${DAEMON_NODE_OPTIONS}`);
  });

  it("runs on the platform's node: Debian 13's own nodejs package; on Debian 12 (nodejs 18) the host's, bound in", async () => {
    await call(c, 'List');
    const { MainPID } = await c.show(UNIT, 'MainPID');
    // The launcher execs `node` from the unit's PATH (/usr/local/bin before /usr/bin).
    const exe = (await c.run(['readlink', `/proc/${MainPID}/exe`])).trim();
    expect(exe).toBe(PLATFORM.node.path);
    const version = (await c.run([exe, '--version'])).trim();
    expect(Number(/^v(\d+)\./.exec(version)?.[1])).toBeGreaterThanOrEqual(20); // package.json: engines
    const owner = await c.exec(['dpkg', '-S', exe]);
    const nodejs = await c.exec(['dpkg-query', '-W', 'nodejs']); // "nodejs<TAB><version>"
    if (PLATFORM.node.fromDistribution) {
      // Debian's nodejs package owns the binary, in the version the package says; no node of the host's.
      expect(owner.stdout.trim()).toBe(`nodejs: ${exe}`);
      const [pkg, pkgVersion] = nodejs.stdout.trim().split('\t');
      expect(pkg).toBe('nodejs');
      expect(pkgVersion?.startsWith(`${version.slice(1)}+`), `${pkgVersion} is ${version}`).toBe(true);
      expect((await c.exec(['test', '-e', '/usr/local/bin/node'])).code).not.toBe(0);
    } else {
      // Not a file of any package (the host's binary, bound in), and Debian 12's nodejs (18) is not installed.
      expect(owner.code).not.toBe(0);
      expect(nodejs.code).not.toBe(0);
      expect(version).toBe(process.version);
    }
  });

  it('logs to the journal with real priorities, not all at 6', async () => {
    await call(c, 'List'); // runs podman: a debug line ("running podman") and info lines
    const lines = await daemonLines();
    const priorities = new Set(lines.map((e) => e.PRIORITY));
    expect(priorities).toContain('6'); // info: "serving"
    expect(priorities).toContain('7'); // debug: "running podman"
    const serving = lines.find((e) => e.MESSAGE?.startsWith('serving '));
    expect(serving?.PRIORITY).toBe('6');
    expect(lines.find((e) => e.MESSAGE?.startsWith('running podman'))?.PRIORITY).toBe('7');
    // The "<N>" prefix was consumed by journald, and no raw pino JSON reached the journal.
    for (const e of lines) {
      expect(e.MESSAGE).not.toMatch(/^<\d>/);
      expect(e.MESSAGE).not.toMatch(/^\{"level"/);
    }
  });

  it('refuses a Pull from a non-root user through the real polkit, and lets that user read', async () => {
    const ref = '127.0.0.1:9/denied/image:v1'; // never contacted: authorization comes first
    const denied = await busctlCall(c, 'Pull', 'ss', [ref, 'missing'], { user: 'nobody' });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Access denied/i);
    const lines = await daemonLines();
    const refusal = lines.find((e) => e.MESSAGE?.includes('not authorized for org.bootc.storage.pull'));
    expect(refusal?.MESSAGE).toContain('"error":"AccessDenied"');
    // No job was started for it.
    expect(lines.some((e) => e.MESSAGE?.includes(ref) && e.MESSAGE.startsWith('job queued'))).toBe(false);
    // The same user may list (org.bootc.storage.read is allowed for everyone).
    const list = await busctlCall(c, 'List', '', [], { user: 'nobody' });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).data).toEqual([[]]);
    // The reference and the policy are parsed at the boundary, before polkit (c20d2b7): an unknown policy is
    // refused as invalid input to root and nobody alike, and polkit is not asked.
    for (const opts of [{}, { user: 'nobody' }]) {
      const r = await busctlCall(c, 'Pull', 'ss', [ref, 'no-such-policy'], opts);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/unknown pull policy "no-such-policy"/);
      expect(r.stderr).not.toMatch(/Access denied/i);
    }
    const refusals = (await daemonLines()).filter((e) => e.MESSAGE?.startsWith('not authorized for'));
    expect(refusals).toHaveLength(1); // only the first call above reached polkit and was refused
  });

  it(`exits after ${IDLE_SECONDS} s without calls, cleanly, and the next call activates it again`, async () => {
    const before = await c.show(UNIT, 'InvocationID', 'MainPID');
    await call(c, 'List');
    const lastCall = Date.now();
    await waitForState(UNIT, 'inactive', 60_000);
    const idleFor = Date.now() - lastCall;
    expect(idleFor).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 500);
    expect(idleFor).toBeLessThan((IDLE_SECONDS + 10) * 1000);
    const after = await c.show(UNIT, 'Result', 'ExecMainStatus', 'NRestarts');
    expect(after).toMatchObject({ Result: 'success', ExecMainStatus: '0', NRestarts: '0' });
    const stopping = (await daemonLines()).filter((e) => e.MESSAGE?.startsWith('stopping'));
    expect(stopping.at(-1)?.MESSAGE).toContain('"why":"idle"');

    const [images] = await call(c, 'List');
    expect(images).toEqual([]);
    // The daemon answers as soon as it owns the bus name (what D-Bus activation waits for); systemd learns
    // READY=1 a few milliseconds later, in the daemon's own datagram.
    await waitForState(UNIT, 'active', 10_000);
    const again = await c.show(UNIT, 'ActiveState', 'InvocationID', 'MainPID');
    expect(again.ActiveState).toBe('active');
    expect(again.InvocationID).not.toBe(before.InvocationID);
    expect(again.MainPID).not.toBe(before.MainPID);
  });

  it('starts on the first Varlink connection through bootc-storaged.socket, where polkit decides each call', async () => {
    await c.run(['systemctl', 'stop', UNIT]);
    await c.run(['systemctl', 'enable', '--now', 'bootc-storaged.socket']);
    expect((await c.show('bootc-storaged.socket', 'ActiveState')).ActiveState).toBe('active');
    expect((await c.show(UNIT, 'ActiveState')).ActiveState).toBe('inactive');
    const [mode, owner] = (await c.run(['stat', '-c', '%A %U', VARLINK_SOCKET])).trim().split(' ');
    expect([mode, owner]).toEqual(['srw-rw-rw-', 'root']); // anyone connects; polkit decides each call

    const info = JSON.parse(await varlinkCall('org.varlink.service.GetInfo'));
    expect(info.parameters.interfaces).toContain('org.bootc.Storage');
    await waitForState(UNIT, 'active', 10_000); // READY=1 follows the first answer by milliseconds
    const props = await c.show(UNIT, 'ActiveState', 'TriggeredBy');
    expect(props.ActiveState).toBe('active');
    expect(props.TriggeredBy).toContain('bootc-storaged.socket');
    // The daemon serves the socket systemd handed over instead of binding its own.
    const listening = (await daemonLines()).filter((e) => e.MESSAGE?.startsWith('varlink listening'));
    expect(listening.at(-1)?.MESSAGE).toContain('"activated":true');
    expect(JSON.parse(await varlinkCall('org.bootc.Storage.List'))).toEqual({ parameters: { images: [] } });

    // nobody is asked about by polkit as a unix-process (its SO_PEERCRED): it may read, not pull.
    const asNobody = (method: string, params: object) =>
      c.run(['node', '-e', VARLINK_CLIENT, VARLINK_SOCKET, method, JSON.stringify(params)], {
        user: 'nobody',
      });
    expect(JSON.parse(await asNobody('org.bootc.Storage.Exists', { image: 'quay.io/x/y:1' }))).toEqual({
      parameters: { present: false },
    });
    const pull = JSON.parse(
      await asNobody('org.bootc.Storage.Pull', { image: '127.0.0.1:9/denied/x:1', policy: 'always' }),
    );
    expect(pull.error).toBe('org.varlink.service.PermissionDenied');
  });

  it('has units that systemd-analyze verify accepts and a bounded security exposure', async () => {
    const units = [
      'bootc-storaged.service',
      'bootc-storaged.socket',
      'bootc-storaged-gc.service',
      'bootc-storaged-gc.timer',
    ].map((u) => `/usr/lib/systemd/system/${u}`);
    const verify = await c.exec(['systemd-analyze', 'verify', ...units]);
    expect({ code: verify.code, stderr: verify.stderr.trim() }).toEqual({ code: 0, stderr: '' });
    // Exposure ×10 (3.2 → 32 at the time of writing): fail if a change weakens the sandbox noticeably.
    const daemon = await c.exec(['systemd-analyze', 'security', '--threshold=35', UNIT]);
    expect(daemon.stdout).toMatch(/Overall exposure level for bootc-storaged\.service: 3\.\d OK/);
    expect(daemon.code).toBe(0);
    // A memory ceiling backs the daemon's own per-uid caps (a missed cap cannot take the host's memory).
    expect(await c.show(UNIT, 'MemoryHigh', 'MemoryMax')).toMatchObject({
      MemoryHigh: String(768 * 1024 * 1024),
      MemoryMax: String(1024 * 1024 * 1024),
    });
    const gc = await c.exec(['systemd-analyze', 'security', '--threshold=10', 'bootc-storaged-gc.service']);
    expect(gc.code).toBe(0);
    // The activation file points the bus at the unit; the timer is known to systemd and can be enabled.
    const activation = await c.run(['cat', '/usr/share/dbus-1/system-services/org.bootc.Storage.service']);
    expect(activation).toMatch(/^SystemdService=bootc-storaged\.service$/m);
    await c.run(['systemctl', 'enable', '--now', 'bootc-storaged-gc.timer']);
    const timer = await c.show(
      'bootc-storaged-gc.timer',
      'ActiveState',
      'NextElapseUSecRealtime',
      'Persistent',
    );
    expect(timer.ActiveState).toBe('active');
    expect(timer.NextElapseUSecRealtime).not.toBe('');
    expect(timer.Persistent).toBe('yes');
  });

  it("passes root's Pull through polkit at once: the job nobody was refused is queued", async () => {
    // Last: an ended job stays readable for --job-retention (60 s), which keeps the daemon from idling out.
    const ref = '127.0.0.1:9/denied/image:v1'; // the port is closed: the job fails or is canceled, nothing more
    const started = await busctlCall(c, 'StartPull', 'ss', [ref, 'missing']); // authorized as Pull is
    expect(started.code, started.stderr).toBe(0);
    const [id, path] = JSON.parse(started.stdout).data as [number, string];
    expect(path).toBe(`/org/bootc/Storage/job/${id}`);
    await busctlCall(c, 'CancelJob', 'u', [String(id)]); // already ended (refused connection) is as good
    const queued = (await daemonLines()).filter((e) => e.MESSAGE?.startsWith('job queued'));
    expect(queued.map((e) => e.MESSAGE).filter((m) => m?.includes(ref))).toHaveLength(1);
  });
});
