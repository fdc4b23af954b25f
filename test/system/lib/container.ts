// A booted Debian with systemd as PID 1 (systemd-nspawn), with bootc-storaged installed into it by
// `make install DESTDIR=… PREFIX=/usr`, driven from the host with nsenter. One per test file (or describe block).
//
// Two platform generations (BOOTC_STORAGED_ROOTFS=bookworm|trixie, bookworm by default; test/system/run.sh runs
// every file on both, test/system/vitest.config.ts): Debian 12 (systemd 252, podman 4.3; the daemon runs on the
// host's node, bound in at /usr/local/bin/node, as Debian 12's nodejs is 18) and Debian 13 (systemd 257, podman
// 5.4; the daemon runs on Debian's own nodejs 20, /usr/bin/node, and nothing of the host's node is bound in).
//
// Layout of one boot, under .cache/system-runs/<name>-<generation>-XXXXXX/ (also its nspawn machine name):
//   upper/, work/  the overlay's writable layer over the installed files and the cached rootfs
//                  (test/system/rootfs.sh), so a boot costs no copy of the 300 MB tree and changes neither
//   sysroot/       bind-mounted at /sysroot: the store and fake ostree deployments live on the host's real
//                  file system (podman's overlay driver cannot work on top of overlayfs), and the host side
//                  can read and write them directly, as on a bootc host where /sysroot is its own mount
//   containers/    bind-mounted at /var/lib/containers, podman's default store (PullFromHost's source), for
//                  the same reason
//   nspawn.log     the container's console and nspawn's messages
//   owner.pid      the test process; test/system/run.sh removes runs whose owner is gone
//
// The overlay is mounted inside a private mount namespace that systemd-nspawn then runs in, so it vanishes
// with the container even if the test process is killed.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { makeMutable } from '../../helpers/ostree-sysroot.js';
import { REPO } from '../../helpers/system-bus.js';

// The checkout, from a module two levels down (as test/helpers is, and a bundle in .cache/<dir> too).
export { REPO };

const RUNS = join(REPO, '.cache/system-runs');
const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Run as this user (runuser -u USER --) instead of root. */
  user?: string;
  /** Written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
}

export interface Container {
  name: string;
  runDir: string;
  /** Host path of the container's /sysroot. */
  sysroot: string;
  /** Host pid of the container's systemd (PID 1 inside). */
  pid: number;
  /** Runs a command inside (all of the container's namespaces), with a clean environment. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but throws with stdout/stderr unless the exit code is 0; returns stdout. */
  run(argv: string[], opts?: ExecOptions): Promise<string>;
  /** Writes a file inside the container (through its own view of the file system). */
  writeFile(path: string, content: string): Promise<void>;
  /** `systemctl show -p NAME… UNIT` as a map. */
  show(unit: string, ...props: string[]): Promise<Record<string, string>>;
  /** Journal entries of a unit (journalctl -u UNIT -o json), optionally only this boot's since a cursor. */
  journal(unit: string, extra?: string[]): Promise<Record<string, string>[]>;
  stop(): Promise<void>;
}

function log(msg: string) {
  process.stderr.write(`[system] ${msg}\n`);
}

export type Generation = 'bookworm' | 'trixie';

export interface Platform {
  generation: Generation;
  /** Goes into every describe block's name, so a report says which generation ran: "… (Debian 13)". */
  label: string;
  /** The major version of the guest's systemd (its init, systemctl, loginctl, journald). */
  systemd: number;
  /** The node that runs the daemon inside: the host's, bound in (Debian 12), or Debian's nodejs (Debian 13). */
  node: { path: string; fromDistribution: boolean };
  /**
   * How `loginctl list-sessions` prints JSON: systemd 252 has no --json there (`-o json` prints it), 257 has
   * --json and prints its (different) table for `-o json`. The tables' columns differ too, so never parse them.
   */
  loginctlJson: string[];
  /** Whether systemd's own Varlink client, varlinkctl, exists (systemd ≥ 255; Debian 12's 252 has none). */
  varlinkctl: boolean;
  /**
   * The journal line systemd writes when a start is skipped by an unmet condition, which systemd 257 words
   * differently from 252 (the same fields otherwise: MESSAGE_ID job done, JOB_RESULT=done).
   */
  skippedByCondition(unit: string, description: string, condition: string): string;
}

const PLATFORMS: Record<Generation, Platform> = {
  bookworm: {
    generation: 'bookworm',
    label: 'Debian 12',
    systemd: 252,
    node: { path: '/usr/local/bin/node', fromDistribution: false },
    loginctlJson: ['-o', 'json'],
    varlinkctl: false,
    skippedByCondition: (unit, description, condition) =>
      `${unit} - ${description} was skipped because of an unmet condition check (${condition}).`,
  },
  trixie: {
    generation: 'trixie',
    label: 'Debian 13',
    systemd: 257,
    node: { path: '/usr/bin/node', fromDistribution: true },
    loginctlJson: ['--json=short'],
    varlinkctl: true,
    skippedByCondition: (unit, description, condition) =>
      `${unit} - ${description} skipped, unmet condition check ${condition}`,
  },
};

/** The generation this test process boots: BOOTC_STORAGED_ROOTFS (set per vitest project), bookworm by default. */
function generation(): Generation {
  const given = process.env.BOOTC_STORAGED_ROOTFS || 'bookworm';
  if (given !== 'bookworm' && given !== 'trixie') {
    throw new Error(`BOOTC_STORAGED_ROOTFS must be bookworm or trixie, not "${given}"`);
  }
  return given;
}

export const PLATFORM: Platform = PLATFORMS[generation()];

/** A generation's platform facts (a test that boots both, as an OS update between them does). */
export const platformOf = (g: Generation): Platform => PLATFORMS[g];

/** The generation this test process does not boot by default. */
export const OTHER_GENERATION: Generation = PLATFORM.generation === 'bookworm' ? 'trixie' : 'bookworm';

/** `name (Debian 13)`: a describe block's name with the generation that ran it. */
export const onPlatform = (name: string) => `${name} (${PLATFORM.label})`;

/** The cached rootfs of this generation (built once by rootfs.sh, which run.sh has already run: then instant). */
function rootfsPath(g: Generation): string {
  return execFileSync('bash', [join(REPO, 'test/system/rootfs.sh'), join(REPO, '.cache/rootfs'), g], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/**
 * What gets installed: test/system/run.sh runs `make install DESTDIR=<dir> PREFIX=/usr` once per run and
 * passes <dir>, which each boot stacks on the rootfs as another read-only overlay layer. A direct vitest run
 * bundles and runs scripts/install.sh (what `make install` runs after its build step) into each boot instead.
 */
function installRoot(): string | undefined {
  const given = process.env.BOOTC_STORAGED_INSTALL_ROOT;
  if (given) return given;
  execFileSync('node', ['scripts/bundle.mjs', 'dist/bundle'], { cwd: REPO, stdio: 'inherit' });
  return undefined;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function execIn(pid: number, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const cmd = opts.user ? ['runuser', '-u', opts.user, '--', ...argv] : argv;
  return new Promise((resolvePromise, reject) => {
    const child = spawn('nsenter', ['-t', String(pid), '-a', '--', ...cmd], {
      env: { PATH: CLEAN_PATH, LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${opts.timeoutMs ?? 120_000} ms: ${cmd.join(' ')}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a command that does not read its stdin
    child.stdin.end(opts.input ?? '');
  });
}

export interface BootOptions {
  /**
   * Makes the host directory that becomes /sysroot (e.g. a real ostree sysroot, ostree-sysroot.ts); by
   * default it holds an empty ostree/bootc.
   */
  prepareSysroot?: (dir: string) => void;
  /** Mount /sysroot read-only (`--bind-ro`), as every bootc host does. */
  readOnlySysroot?: boolean;
  /**
   * An existing host directory to be /sysroot, left in place when the container stops: one sysroot across
   * several boots, as across an OS update (prepareSysroot is not called then).
   */
  sysrootDir?: string;
  /** Boot this generation instead of the test process's own (PLATFORM). */
  generation?: Generation;
  /** More host directories or files to bind in, as `host:container` (no spaces), e.g. for the benchmarks. */
  binds?: string[];
}

/** Boots a fresh container with the project installed; resolves once systemd reports the boot finished. */
export async function bootContainer(name: string, opts: BootOptions = {}): Promise<Container> {
  const platform = platformOf(opts.generation ?? PLATFORM.generation);
  for (const b of opts.binds ?? []) if (/\s/.test(b)) throw new Error(`a bind with a space: ${b}`);
  const rootfs = rootfsPath(platform.generation);
  const installed = installRoot();
  mkdirSync(RUNS, { recursive: true });
  const runDir = mkdtempSync(join(RUNS, `${name}-${platform.generation}-`));
  writeFileSync(join(runDir, 'owner.pid'), `${process.pid}\n`);
  const [upper, work, merged, containers] = ['upper', 'work', 'merged', 'containers'].map((d) =>
    join(runDir, d),
  ) as [string, string, string, string];
  const sysroot = opts.sysrootDir ?? join(runDir, 'sysroot');
  for (const d of [upper, work, merged, containers]) mkdirSync(d, { recursive: true });
  if (!opts.sysrootDir) {
    mkdirSync(sysroot, { recursive: true });
    if (opts.prepareSysroot) opts.prepareSysroot(sysroot);
    else mkdirSync(join(sysroot, 'ostree/bootc'), { recursive: true });
  }
  const sysrootBind = opts.readOnlySysroot ? '--bind-ro' : '--bind';
  // Debian 12's nodejs is 18: the host's node (20) is bound in where PATH finds it first. Debian 13 runs the
  // daemon on its own nodejs 20 (/usr/bin/node): nothing of the host's is bound in.
  const nodeBind = platform.node.fromDistribution
    ? ''
    : `--bind-ro=${execFileSync('readlink', ['-f', process.execPath], { encoding: 'utf8' }).trim()}:${platform.node.path}`;
  // Inside a private mount namespace: the overlay (with the installed files on top of the rootfs), then boot.
  const cgroups = containerCgroups(basename(runDir));
  for (const dir of cgroups) mkdirSync(dir, { recursive: true });
  const script = [
    'set -e',
    // This shell becomes unshare's and then nspawn's process (each execs the next): into the container's cgroups.
    'for cg in $BOOTC_STORAGED_CGROUPS; do echo $$ >"$cg/cgroup.procs"; done',
    `mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"`,
    installed ? ':' : `bash scripts/install.sh "$4" /usr >"$6/install.log"`,
    // Extra binds come split on spaces from the environment (the positional parameters are taken).
    `exec systemd-nspawn -D "$4" --machine="$7" --boot --register=no --keep-unit --console=passive \
       \${8:+"$8"} "\${10}=$5:/sysroot" --bind="$9:/var/lib/containers" $BOOTC_STORAGED_NSPAWN_BINDS`,
  ].join('\n');
  const logFd = openSync(join(runDir, 'nspawn.log'), 'a');
  const started = Date.now();
  let nspawn: ChildProcess;
  try {
    nspawn = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        script,
        'boot',
        installed ? `${installed}:${rootfs}` : rootfs,
        upper,
        work,
        merged,
        sysroot,
        runDir,
        // Unique among the containers running on this host: nspawn keeps per-machine state in the host's
        // /run/systemd/nspawn/propagate/<machine>, which two running containers of one name would share.
        basename(runDir),
        nodeBind,
        containers,
        sysrootBind,
      ],
      {
        cwd: REPO,
        stdio: ['ignore', logFd, logFd],
        detached: true,
        // This host's systemd (252) mounts the hybrid cgroup layout (v1 controllers, and v2 at unified/).
        // systemd 257 as the container's init never reaches "running" there unless nspawn gives it the unified
        // hierarchy; systemd 252 guests boot the same way with it.
        env: {
          ...process.env,
          SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1',
          BOOTC_STORAGED_CGROUPS: cgroups.join(' '),
          BOOTC_STORAGED_NSPAWN_BINDS: (opts.binds ?? []).map((b) => `--bind=${b}`).join(' '),
        },
      },
    );
  } finally {
    closeSync(logFd);
  }
  const nspawnPid = nspawn.pid!;
  writeFileSync(join(runDir, 'nspawn.pid'), `${nspawnPid}\n`);
  let exited = false;
  nspawn.on('exit', () => {
    exited = true;
  });
  const tail = () => readFileSync(join(runDir, 'nspawn.log'), 'utf8').split('\n').slice(-30).join('\n');

  let pid = 0;
  try {
    // unshare → sh → (exec) systemd-nspawn → the container's init.
    const deadline = Date.now() + 60_000;
    while (pid === 0) {
      if (exited) throw new Error(`systemd-nspawn exited during boot:\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`the container did not start systemd in 60 s:\n${tail()}`);
      for (const k of childrenOf(nspawnPid)) {
        const comm = readFileSync(`/proc/${k}/comm`, 'utf8').trim();
        if (comm === 'systemd' || comm === 'init') pid = k;
      }
      if (pid === 0) await new Promise((r) => setTimeout(r, 50));
    }
    // systemd's private socket appears a moment after it starts; until then systemctl cannot connect.
    let state: ExecResult;
    for (;;) {
      state = await execIn(pid, ['systemctl', 'is-system-running', '--wait'], { timeoutMs: 90_000 });
      // Right after exec, systemctl may still see no manager at all ("offline"): ask again. systemd 252 says
      // "Failed to connect to bus", 257 "Failed to connect to system scope bus via local transport".
      if (
        !/Failed to connect to (system scope )?bus/.test(state.stderr) &&
        state.stdout.trim() !== 'offline'
      ) {
        break;
      }
      if (exited) throw new Error(`systemd-nspawn exited during boot:\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`systemd in the container never answered: ${state.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const s = state.stdout.trim();
    if (s !== 'running') {
      const failed = await execIn(pid, ['systemctl', '--failed', '--no-pager', '--no-legend']);
      throw new Error(
        `the container booted "${s}" (${state.stderr.trim()}), not "running"; failed units:\n${failed.stdout}${failed.stderr}`,
      );
    }
  } catch (err) {
    await stopNspawn(nspawn, nspawnPid);
    const why = `${(err as Error).message}\n--- ${join(runDir, 'nspawn.log')} (last lines) ---\n${tail()}`;
    removeRunDir(runDir);
    throw new Error(why);
  }
  log(`${name}: booted in ${Date.now() - started} ms (nspawn pid ${nspawnPid}, init pid ${pid}, ${runDir})`);

  const c: Container = {
    name,
    runDir,
    sysroot,
    pid,
    exec: (argv, opts) => execIn(pid, argv, opts),
    run: async (argv, opts) => {
      const r = await execIn(pid, argv, opts);
      if (r.code !== 0) {
        let why = `${argv.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
        // A unit that failed to start: what systemd and the unit logged about it says why.
        if (argv[0] === 'systemctl' && argv[1] === 'start' && argv[2]) {
          const journal = await execIn(pid, [
            'journalctl',
            '-u',
            argv[2],
            '-n',
            '40',
            '--no-pager',
            '-o',
            'short',
          ]);
          why += `\njournalctl -u ${argv[2]}:\n${journal.stdout}`;
        }
        throw new Error(why);
      }
      return r.stdout;
    },
    writeFile: async (path, content) => {
      await c.run(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat >"$1"', 'write', path], { input: content });
    },
    show: async (unit, ...props) => {
      const out = await c.run(['systemctl', 'show', unit, ...props.map((p) => `--property=${p}`)]);
      const map: Record<string, string> = {};
      for (const line of out.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) map[line.slice(0, i)] = line.slice(i + 1);
      }
      return map;
    },
    journal: async (unit, extra = []) => {
      const out = await c.run(['journalctl', '-u', unit, '-o', 'json', '--no-pager', ...extra]);
      return out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, string>);
    },
    stop: async () => {
      await stopNspawn(nspawn, nspawnPid);
      removeRunDir(runDir);
    },
  };
  return c;
}

/** Lets the container's podman reach the test's registries on the host's loopback without TLS. */
export async function trustRegistries(c: Container, ...hosts: string[]): Promise<void> {
  await c.writeFile(
    '/etc/containers/registries.conf.d/50-bootc-storaged-test.conf',
    hosts.map((h) => `[[registry]]\nlocation = "${h}"\ninsecure = true\n`).join('\n'),
  );
}

/** The container's podman version ("4.3.1", "5.4.2"). */
export async function podmanVersion(c: Container): Promise<string> {
  return (await c.run(['podman', 'version', '--format', '{{.Client.Version}}'])).trim();
}

/** Removes a boot's directory and its cgroups; ostree's deployments in its sysroot are immutable until told. */
function removeRunDir(runDir: string) {
  makeMutable(join(runDir, 'sysroot'));
  execFileSync('rm', ['-rf', '--one-file-system', runDir]);
  for (const dir of containerCgroups(basename(runDir))) removeCgroup(dir);
}

/**
 * The cgroups, one per hierarchy nspawn uses, that one container's nspawn runs in: `bootc-storaged-test-<run
 * directory's name>` under this process's own cgroup. nspawn --keep-unit puts itself in `<its cgroup>/supervisor`
 * and the container in `<its cgroup>/payload`: containers started from one cgroup would share those, and one
 * container's start or stop then removes the other's under it (measured: 3 of 36 boots two at a time came up
 * "degraded", systemd-remount-fs "Failed at step CGROUP spawning …: No such file or directory"; 0 of 72 with a
 * cgroup each). The unified hierarchy (at /sys/fs/cgroup/unified on this host's hybrid layout, else
 * /sys/fs/cgroup) and systemd's named v1 hierarchy where it exists.
 */
function containerCgroups(runName: string): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, controllers, path = '/'] = line.split(':');
    let mount: string | undefined;
    if (controllers === '') {
      mount = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
    } else if (controllers === 'name=systemd') {
      mount = '/sys/fs/cgroup/systemd';
    }
    if (mount && existsSync(join(mount, 'cgroup.procs'))) {
      dirs.push(join(mount, path, `bootc-storaged-test-${runName}`));
    }
  }
  return dirs;
}

/** rmdir of a cgroup and the ones nspawn made below it, deepest first (they hold no processes any more). */
function removeCgroup(dir: string) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroup(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // still busy: run.sh removes it with the run's leftovers
  }
}

/** SIGTERM makes nspawn power the container off cleanly (SIGRTMIN+3 to its init); SIGKILL after 30 s. */
async function stopNspawn(child: ChildProcess, pid: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    log(`nspawn ${pid} did not stop within 30 s; killing it`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }, 30_000);
  await done;
  clearTimeout(timer);
}

/** Calls a method of org.bootc.Storage with busctl inside the container. */
export function busctlCall(
  c: Container,
  method: string,
  signature = '',
  args: string[] = [],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  return c.exec(
    [
      'busctl',
      '--system',
      '--json=short',
      '--timeout=120',
      'call',
      'org.bootc.Storage',
      '/org/bootc/Storage',
      'org.bootc.Storage',
      method,
      ...(signature ? [signature, ...args] : []),
    ],
    opts,
  );
}

/** The unit every system test boots, calls and reads the journal of. */
export const UNIT = 'bootc-storaged.service';

/** One row of List as busctl's JSON gives it. */
export type ListRow = [id: string, names: string[], digest: string, size: number, created: number];

/** Like busctlCall, but throws on failure and returns the reply's `data` array. */
export async function call(
  c: Container,
  method: string,
  signature = '',
  args: string[] = [],
): Promise<unknown[]> {
  const r = await busctlCall(c, method, signature, args);
  if (r.code !== 0) throw new Error(`${method} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as { data: unknown[] }).data;
}

export interface LoginSession {
  session: string;
  uid: number;
  user: string;
  /** From `loginctl show-session -p Class` (systemd 252's JSON list has no class). */
  class: string;
}

/** logind's sessions, from loginctl's JSON (its table's columns differ between systemd 252 and 257). */
export async function loginSessions(c: Container): Promise<LoginSession[]> {
  const list = JSON.parse(await c.run(['loginctl', 'list-sessions', ...PLATFORM.loginctlJson])) as {
    session: string;
    uid: number;
    user: string;
  }[];
  const sessions: LoginSession[] = [];
  for (const { session, uid, user } of list) {
    const shown = await c.exec(['loginctl', 'show-session', session, '--value', '-p', 'Class']);
    if (shown.code !== 0) continue; // ended meanwhile
    sessions.push({ session, uid, user, class: shown.stdout.trim() });
  }
  return sessions;
}

/** List's rows, called in the container through busctl. */
export async function listImages(c: Container): Promise<ListRow[]> {
  return ((await call(c, 'List')) as [ListRow[]])[0];
}

/**
 * The daemon logs at debug level from its next start (an administrator's drop-in, then daemon-reload): what a
 * test that reads the journal for debug lines (a fallback taken, podman's argv) needs.
 */
export async function enableDebugLog(c: Container): Promise<void> {
  await c.writeFile(
    `/etc/systemd/system/${UNIT}.d/50-test.conf`,
    '[Service]\nEnvironment=BOOTC_STORAGED_LOG_LEVEL=debug\n',
  );
  await c.run(['systemctl', 'daemon-reload']);
}
