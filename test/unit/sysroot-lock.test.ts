// The ostree sysroot lock against real peers: a python3 process locking exactly as libglnx does (OFD write lock,
// unlink on release), the real `ostree admin undeploy` waiting for us, and util-linux flock(1), whose flock(2)
// lock does not conflict (which is why an OFD lock is the only correct one). Ordering is asserted by events,
// never by how long something took.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireSysrootLock,
  isSysrootLockHeld,
  SYSROOT_LOCK_SUBPATH,
  type SysrootLock,
} from '../../src/storage/sysroot-lock.js';
import { makeTempDir } from '../helpers/tmp.js';

// glnx_make_lock_file / glnx_release_lock_file, line for line. `hold`: block for the lock (F_OFD_SETLKW), say
// "locked", wait for a line on stdin, unlink, close, say "released". `try`: one non-blocking attempt, "busy" or
// "got" (then released the glnx way).
const GLNX_PEER = `
import errno, fcntl, os, struct, sys
path, mode = sys.argv[1], sys.argv[2]
lock = struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0)
while True:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, 0o600)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLKW if mode == 'hold' else fcntl.F_OFD_SETLK, lock)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            print('busy', flush=True)
            sys.exit(0)
        raise
    if os.fstat(fd).st_nlink > 0:
        break
    os.close(fd)
print('locked' if mode == 'hold' else 'got', flush=True)
if mode == 'hold':
    sys.stdin.readline()
os.unlink(path)
os.close(fd)
if mode == 'hold':
    print('released', flush=True)
`;

/** The deployment directories of a real ostree sysroot's `default` stateroot. */
const deployments = (dir: string) =>
  readdirSync(join(dir, 'ostree/deploy/default/deploy')).filter((n) => !n.endsWith('.origin'));

let tmp: { path: string; remove: () => void };
let sysroot: string;
let lockPath: string;
const children: ChildProcess[] = [];
const locks: SysrootLock[] = [];

beforeEach(() => {
  tmp = makeTempDir('bsd-lock-');
  sysroot = join(tmp.path, 'sysroot');
  mkdirSync(join(sysroot, 'ostree'), { recursive: true });
  lockPath = join(sysroot, SYSROOT_LOCK_SUBPATH);
});
afterEach(() => {
  for (const lock of locks.splice(0)) lock.release();
  // Each peer leads its own process group: flock(1) forks its command, which would outlive flock itself.
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ESRCH: the whole group has exited
    }
  }
  // ostree sets the immutable attribute on deployment roots, as on a host; clear it so they can be removed.
  const deployDir = join(tmp.path, 'ostree-sysroot/ostree/deploy/default/deploy');
  if (existsSync(deployDir)) {
    const roots = deployments(join(tmp.path, 'ostree-sysroot')).map((n) => join(deployDir, n));
    if (roots.length > 0) execFileSync('chattr', ['-i', '--', ...roots]);
  }
  tmp.remove();
});

/** A started process with its stdout+stderr as lines, awaitable one at a time, and its exit. */
interface Peer {
  child: ChildProcess;
  lines: string[];
  nextLine(): Promise<string>;
  untilLine(pattern: RegExp): Promise<string>;
  exited: Promise<number | null>;
}

function startPeer(file: string, args: string[]): Peer {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  children.push(child);
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of waiters.splice(0)) w();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let read = 0;
  const untilLine = async (pattern: RegExp): Promise<string> => {
    for (;;) {
      while (read < lines.length) {
        const line = lines[read++]!;
        if (pattern.test(line)) return line;
      }
      const more = new Promise<void>((resolve) => waiters.push(resolve));
      const ended = await Promise.race([more.then(() => false), exited.then(() => true)]);
      if (ended && read >= lines.length) {
        throw new Error(`${file} exited without printing ${pattern}; it printed: ${lines.join(' | ')}`);
      }
    }
  };
  return { child, lines, nextLine: () => untilLine(/.*/), untilLine, exited };
}

/** A glnx-style holder that has the lock once this resolves; `release()` makes it unlink and close. */
async function glnxHolder(): Promise<{ peer: Peer; release: () => Promise<void> }> {
  const peer = startPeer('python3', ['-c', GLNX_PEER, lockPath, 'hold']);
  expect(await peer.nextLine()).toBe('locked');
  return {
    peer,
    release: async () => {
      peer.child.stdin!.write('\n');
      await peer.untilLine(/^released$/);
    },
  };
}

/** One glnx-style non-blocking attempt from another process: 'busy' or 'got'. */
function glnxTry(): string {
  return execFileSync('python3', ['-c', GLNX_PEER, lockPath, 'try'], { encoding: 'utf8' }).trim();
}

function rejection(p: Promise<unknown>): Promise<Error & { details: Record<string, unknown> }> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error & { details: Record<string, unknown> }) => err,
  );
}

async function acquire(opts: Parameters<typeof acquireSysrootLock>[1] = {}): Promise<SysrootLock> {
  const lock = await acquireSysrootLock(sysroot, { pollMs: 20, ...opts });
  locks.push(lock);
  return lock;
}

describe('against a libglnx-style holder (python3, F_OFD_SETLKW)', () => {
  it('waits while it holds the lock, says so once, and gets it when the holder releases', async () => {
    const holder = await glnxHolder();
    const events: string[] = [];
    let releasing: Promise<void> | undefined;
    const lock = await acquire({
      onWaiting: () => {
        events.push('waiting');
        // Let several polls fail before the holder lets go: onWaiting must still have been called once.
        setTimeout(() => {
          events.push('holder told to release');
          releasing = holder.release();
        }, 200);
      },
    });
    events.push('acquired');
    await releasing;
    expect(events).toEqual(['waiting', 'holder told to release', 'acquired']);
    // The lock is real to glnx: another process's try-lock fails until we release, then succeeds.
    expect(glnxTry()).toBe('busy');
    lock.release();
    expect(glnxTry()).toBe('got');
  });

  it('rejects with SysrootLocked when the holder keeps it past timeoutMs', async () => {
    await glnxHolder();
    let waited = 0;
    const err = await rejection(acquire({ timeoutMs: 150, onWaiting: () => waited++ }));
    expect(err.name).toBe('SysrootLocked');
    expect(err.message).toContain(`${lockPath} is held by another process`);
    expect(err.details.path).toBe(lockPath);
    expect(waited).toBe(1);
    expect(glnxTry()).toBe('busy'); // the holder was not disturbed
  });

  it('rejects with Canceled when aborted while waiting, and at once when aborted before', async () => {
    await glnxHolder();
    const controller = new AbortController();
    const err = await rejection(acquire({ signal: controller.signal, onWaiting: () => controller.abort() }));
    expect(err.name).toBe('Canceled');
    expect(err.details.path).toBe(lockPath);
    const early = await rejection(acquire({ signal: AbortSignal.abort() }));
    expect(early.name).toBe('Canceled');
  });

  it('reports the lock as held while the holder or we have it, and not after', async () => {
    expect(await isSysrootLockHeld(sysroot)).toBe(false); // no file at all
    const holder = await glnxHolder();
    expect(await isSysrootLockHeld(sysroot)).toBe(true);
    await holder.release();
    expect(existsSync(lockPath)).toBe(false); // glnx unlinks on release
    expect(await isSysrootLockHeld(sysroot)).toBe(false);
    const lock = await acquire();
    expect(await isSysrootLockHeld(sysroot)).toBe(true);
    lock.release();
    expect(await isSysrootLockHeld(sysroot)).toBe(false);
  });
});

describe('the unlink-on-release protocol (st_nlink 0)', () => {
  it('removes the file on release, and acquire/release cycles each get a working lock', async () => {
    for (let i = 0; i < 3; i++) {
      const lock = await acquire({ timeoutMs: 2000 });
      expect(existsSync(lockPath)).toBe(true);
      expect(glnxTry()).toBe('busy');
      lock.release();
      lock.release(); // idempotent
      expect(existsSync(lockPath)).toBe(false);
    }
  });

  it('a waiter whose file was unlinked under it starts over on a fresh file instead of keeping a dead lock', async () => {
    const first = await acquire();
    // The second waiter has the first file open while it polls; the first release unlinks that file and closes
    // it, so the second one's next F_OFD_SETLK succeeds on an orphaned inode (nlink 0).
    const events: string[] = [];
    const second = acquire({
      onWaiting: () => {
        events.push('second waiting');
        first.release();
        events.push('first released');
      },
    });
    const lock = await second;
    events.push('second acquired');
    expect(events).toEqual(['second waiting', 'first released', 'second acquired']);
    // Had it kept the lock on the orphan, a glnx peer would create a new file at the path and get it.
    expect(existsSync(lockPath)).toBe(true);
    expect(glnxTry()).toBe('busy');
    lock.release();
  });

  it('a glnx holder that releases while we wait leaves us a lock other glnx peers respect', async () => {
    const holder = await glnxHolder();
    const lock = await acquire({ onWaiting: () => void holder.release() });
    expect(glnxTry()).toBe('busy');
    lock.release();
  });
});

describe('a flock(2) holder (util-linux flock)', () => {
  it('does not block us: flock and OFD locks do not conflict, so only an OFD lock excludes libostree', async () => {
    writeFileSync(lockPath, '');
    const peer = startPeer('flock', [lockPath, 'sh', '-c', 'echo held; exec sleep 600']);
    expect(await peer.nextLine()).toBe('held');
    let waited = false;
    const lock = await acquire({ timeoutMs: 5000, onWaiting: () => (waited = true) });
    expect(waited).toBe(false);
    // Both are held at once: the flock(2) lock is still in place (flock -n fails on it) while we hold ours.
    expect(spawnSync('flock', ['-n', lockPath, 'true']).status).toBe(1);
    expect(glnxTry()).toBe('busy');
    lock.release();
  });
});

describe('errors', () => {
  it('StorageFailure naming the errno when the lock file cannot be opened', async () => {
    const missing = await rejection(acquireSysrootLock(join(tmp.path, 'no-sysroot')));
    expect(missing.name).toBe('StorageFailure');
    expect(missing.details.reason).toBe('ENOENT');
    mkdirSync(lockPath);
    const dir = await rejection(acquireSysrootLock(sysroot));
    expect(dir.name).toBe('StorageFailure');
    expect(dir.details).toMatchObject({ path: lockPath, reason: 'EISDIR' });
  });
});

/** A sysroot made by the real ostree tool with two deployments of one commit. */
function ostreeSysroot(dir: string): void {
  const run = (args: string[]) => execFileSync('ostree', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  mkdirSync(dir);
  run(['admin', 'init-fs', dir]);
  run(['admin', 'os-init', `--sysroot=${dir}`, 'default']);
  const tree = join(tmp.path, 'tree');
  const put = (rel: string, content: string) => {
    mkdirSync(dirname(join(tree, rel)), { recursive: true });
    writeFileSync(join(tree, rel), content);
  };
  put('usr/lib/modules/6.1.0/vmlinuz', 'not a kernel\n');
  put('usr/lib/os-release', 'ID=bsd-test\n');
  put('usr/etc/os-release', 'ID=bsd-test\n');
  run([`--repo=${join(dir, 'ostree/repo')}`, 'commit', '-b', 'os/1', `--tree=dir=${tree}`]);
  run(['admin', 'deploy', `--sysroot=${dir}`, '--os=default', 'os/1']);
  run(['admin', 'deploy', `--sysroot=${dir}`, '--os=default', 'os/1']);
}

describe('against the real ostree (admin undeploy)', () => {
  it('ostree waits for our lock and finishes only after we release it', async () => {
    const dir = join(tmp.path, 'ostree-sysroot');
    ostreeSysroot(dir);
    expect(deployments(dir)).toHaveLength(2);
    const lock = await acquireSysrootLock(dir);
    locks.push(lock);
    const events: string[] = [];
    const peer = startPeer('ostree', ['admin', 'undeploy', `--sysroot=${dir}`, '0']);
    void peer.exited.then((code) => events.push(`ostree exited ${code}`));
    await peer.untilLine(/Waiting for sysroot lock/);
    events.push('ostree waiting');
    // Give ostree every chance to (wrongly) go ahead: if it did not respect our lock it would exit meanwhile.
    await new Promise((r) => setTimeout(r, 500));
    expect(deployments(dir)).toHaveLength(2);
    events.push('we release');
    lock.release();
    const code = await peer.exited;
    expect(code, peer.lines.join('\n')).toBe(0);
    expect(events).toEqual(['ostree waiting', 'we release', 'ostree exited 0']);
    expect(deployments(dir)).toHaveLength(1);
    // ostree released it the same way (unlinked), and we can take it again.
    expect(existsSync(join(dir, SYSROOT_LOCK_SUBPATH))).toBe(false);
    const again = await acquireSysrootLock(dir, { timeoutMs: 2000 });
    again.release();
  });
});
