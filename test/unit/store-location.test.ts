// Where the store goes on a sysroot, and what is created for it: the ostree layout, the composefs layout
// behind its ostree/bootc link (as upstream writes it), links followed and never replaced, and named errors
// for everything that cannot be a store. Read-only mounts are the integration tier's (real mounts).

import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findMount, parseMountInfo } from '../../src/storage/mount-info.js';
import { prepareStoreLocation } from '../../src/storage/store-location.js';
import { inOwnMountNamespace } from '../../src/storage/writable.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: ReturnType<typeof makeTempDir>;
let sysroot: string;
beforeEach(() => {
  tmp = makeTempDir('bsd-location-');
  sysroot = join(tmp.path, 'sysroot');
  mkdirSync(join(sysroot, 'ostree'), { recursive: true });
});
afterEach(() => tmp.remove());

const prepare = (layout?: 'auto' | 'ostree' | 'composefs') =>
  prepareStoreLocation(sysroot, { layout, ownNamespace: false });

async function failure(p: Promise<unknown>) {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: Error & { details: Record<string, unknown> }) => e,
  );
}

describe('prepareStoreLocation', () => {
  it('creates ostree/bootc (0700) on a fresh ostree host', async () => {
    const loc = await prepare();
    expect(loc).toEqual({
      storePath: join(sysroot, 'ostree/bootc/storage'),
      bootcDir: join(sysroot, 'ostree/bootc'),
      layout: 'ostree',
    });
    expect(statSync(join(sysroot, 'ostree/bootc')).mode & 0o777).toBe(0o700);
  });

  it('uses an existing ostree/bootc as it is', async () => {
    mkdirSync(join(sysroot, 'ostree/bootc'), { mode: 0o755 });
    await prepare();
    expect(statSync(join(sysroot, 'ostree/bootc')).mode & 0o777).toBe(0o755);
  });

  it('on a composefs host makes composefs/bootc (composefs/ 0700) and links ostree/bootc to it', async () => {
    mkdirSync(join(sysroot, 'composefs'), { mode: 0o700 });
    const loc = await prepare();
    expect(loc.layout).toBe('composefs');
    expect(loc.storePath).toBe(join(sysroot, 'ostree/bootc/storage')); // always reached through the link
    expect(loc.bootcDir).toBe(join(sysroot, 'composefs/bootc'));
    expect(readlinkSync(join(sysroot, 'ostree/bootc'))).toBe('../composefs/bootc');
    expect(statSync(join(sysroot, 'composefs/bootc')).isDirectory()).toBe(true);
  });

  it('creates composefs/ itself, mode 0700, when the layout is asked for', async () => {
    const loc = await prepare('composefs');
    expect(loc.layout).toBe('composefs');
    expect(statSync(join(sysroot, 'composefs')).mode & 0o777).toBe(0o700);
  });

  it('follows an existing link and creates its missing composefs target, never replacing the link', async () => {
    symlinkSync('../composefs/bootc', join(sysroot, 'ostree/bootc'));
    const ino = lstatSync(join(sysroot, 'ostree/bootc')).ino;
    const loc = await prepare('ostree'); // an explicit layout does not override what is on disk
    expect(loc.layout).toBe('composefs');
    expect(lstatSync(join(sysroot, 'ostree/bootc')).ino).toBe(ino);
    expect(statSync(join(sysroot, 'composefs/bootc')).isDirectory()).toBe(true);
  });

  it('refuses a link that leaves the sysroot', async () => {
    symlinkSync('../../../etc', join(sysroot, 'ostree/bootc'));
    const out = await failure(prepare());
    expect(out.name).toBe('StoreUnavailable');
    expect(out.message).toContain('outside the sysroot');
  });

  it('refuses a dangling link that does not point at composefs/bootc', async () => {
    symlinkSync('../nowhere/bootc', join(sysroot, 'ostree/bootc'));
    const out = await failure(prepare());
    expect(out.name).toBe('StoreUnavailable');
    expect(out.message).toMatch(/does not exist/);
  });

  it('names a file where a directory should be, with its path', async () => {
    writeFileSync(join(sysroot, 'ostree/bootc'), 'oops\n');
    const out = await failure(prepare());
    expect(out.name).toBe('StoreUnavailable');
    expect(out.message).toContain(join(sysroot, 'ostree/bootc'));
    expect(out.details.path).toBe(join(sysroot, 'ostree/bootc'));
  });

  it('names a store path that is a file', async () => {
    mkdirSync(join(sysroot, 'ostree/bootc'));
    writeFileSync(join(sysroot, 'ostree/bootc/storage'), '');
    const out = await failure(prepare());
    expect(out.name).toBe('StoreUnavailable');
    expect(out.details.path).toBe(join(sysroot, 'ostree/bootc/storage'));
  });

  it('names a missing sysroot', async () => {
    const out = await failure(prepareStoreLocation(join(tmp.path, 'nope'), { ownNamespace: false }));
    expect(out.name).toBe('StoreUnavailable');
    expect(out.message).toContain('does not exist');
  });
});

// A hostile tree in the sysroot: links are resolved inside it (every component, absolute targets from the
// sysroot, `..` never above it, a bounded number of hops), and the host's own walk of the path must agree.
describe('prepareStoreLocation resolves every link inside the sysroot', () => {
  let outside: string;
  beforeEach(() => {
    outside = join(tmp.path, 'outside');
    mkdirSync(join(outside, 'bootc'), { recursive: true });
  });

  async function refused(reason: string) {
    const out = await failure(prepare());
    expect(out.name).toBe('StoreUnavailable');
    expect(out.details.reason).toBe(reason);
    expect(readdirSync(join(outside, 'bootc'))).toEqual([]); // nothing made or touched out there
    return out;
  }

  it('refuses a composefs link whose intermediate directory is a link out of the sysroot', async () => {
    // The text of ostree/bootc is upstream's own; composefs/ on the way leads out.
    symlinkSync('../composefs/bootc', join(sysroot, 'ostree/bootc'));
    symlinkSync('../outside', join(sysroot, 'composefs'));
    const out = await refused('link leaves sysroot');
    expect(out.message).toContain('outside the sysroot');
  });

  it('refuses an intermediate absolute link that the host would follow out of the sysroot', async () => {
    symlinkSync('../composefs/bootc', join(sysroot, 'ostree/bootc'));
    symlinkSync(outside, join(sysroot, 'composefs')); // inside the sysroot, that path does not exist
    const out = await failure(prepare());
    expect(out.name).toBe('StoreUnavailable');
    expect(out.details.path).toBe(join(sysroot, 'composefs'));
    expect(readdirSync(join(outside, 'bootc'))).toEqual([]);
  });

  it('refuses ostree/ itself as a link out, creating nothing there', async () => {
    rmSync(join(sysroot, 'ostree'), { recursive: true });
    symlinkSync('../outside', join(sysroot, 'ostree')); // bootc's directory would be <outside>/bootc
    await refused('link leaves sysroot');
    expect(readdirSync(outside)).toEqual(['bootc']);
  });

  it('refuses an absolute link: from the sysroot it is inside, from the host it is not', async () => {
    // <sysroot><outside> exists too, so the link's text alone looks inside the sysroot.
    mkdirSync(join(sysroot, outside), { recursive: true });
    symlinkSync(outside, join(sysroot, 'ostree/bootc'));
    const out = await refused('link leaves sysroot');
    expect(out.message).toContain(`to ${outside},`);
  });

  it('refuses an absolute link even to the composefs home, which the host would look for at its own /', async () => {
    mkdirSync(join(sysroot, 'composefs/bootc'), { recursive: true });
    symlinkSync('/composefs/bootc', join(sysroot, 'ostree/bootc'));
    await refused('link leaves sysroot');
  });

  it('follows `..` after a link from where the link leads, not from its name', async () => {
    // d1/d2/top is the sysroot itself; `top/..` is therefore above it, though d1/d2/outside exists by name.
    mkdirSync(join(sysroot, 'd1/d2/outside/bootc'), { recursive: true });
    symlinkSync('../..', join(sysroot, 'd1/d2/top'));
    symlinkSync('../d1/d2/top/../outside/bootc', join(sysroot, 'ostree/bootc'));
    await refused('link leaves sysroot');
  });

  it('refuses a chain of `..` that climbs above the sysroot, however it is spelled', async () => {
    mkdirSync(join(sysroot, 'composefs/bootc'), { recursive: true });
    symlinkSync('../composefs/bootc/../../../outside/bootc', join(sysroot, 'ostree/bootc'));
    await refused('link leaves sysroot');
  });

  it('accepts `..` chains that stay inside, as the composefs layout', async () => {
    mkdirSync(join(sysroot, 'composefs'), { mode: 0o700 });
    symlinkSync('../composefs/../ostree/../composefs/bootc', join(sysroot, 'ostree/bootc'));
    const loc = await prepare();
    expect(loc.layout).toBe('composefs');
    expect(loc.bootcDir).toBe(join(sysroot, 'composefs/bootc'));
  });

  it('refuses a link loop, within a bounded number of hops', async () => {
    mkdirSync(join(sysroot, 'composefs'));
    symlinkSync('../composefs/bootc', join(sysroot, 'ostree/bootc'));
    symlinkSync('../ostree/bootc', join(sysroot, 'composefs/bootc'));
    const out = await refused('link loop');
    expect(out.message).toMatch(/too many levels of symbolic links/);
  });

  it('refuses a store directory that is a link out of the sysroot', async () => {
    mkdirSync(join(sysroot, 'ostree/bootc'));
    symlinkSync('../../../outside/bootc', join(sysroot, 'ostree/bootc/storage'));
    const out = await refused('link leaves sysroot');
    expect(out.details.path).toBe(join(sysroot, 'ostree/bootc/storage'));
  });

  it('still follows the legitimate composefs layout with its store in place', async () => {
    mkdirSync(join(sysroot, 'composefs/bootc/storage'), { recursive: true, mode: 0o700 });
    symlinkSync('../composefs/bootc', join(sysroot, 'ostree/bootc'));
    const loc = await prepare();
    expect(loc).toEqual({
      storePath: join(sysroot, 'ostree/bootc/storage'),
      bootcDir: join(sysroot, 'composefs/bootc'),
      layout: 'composefs',
    });
  });
});

describe('mount facts', () => {
  const text = [
    '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '30 22 254:0 /srv/sysroot /sysroot ro,relatime - ext4 /dev/vda rw',
    '31 30 254:0 /srv/sysroot/ostree/bootc /sysroot/ostree/bootc rw,relatime - ext4 /dev/vda rw',
    '40 22 0:50 / /mnt/with\\040space ro - squashfs /dev/loop0 ro',
    '41 22 0:51 / /sysroot ro - tmpfs tmpfs ro',
  ].join('\n');
  const mounts = parseMountInfo(text);

  it('parses per-mount and file-system options, unescaping paths', () => {
    expect(mounts[1]).toMatchObject({ mountPoint: '/sysroot', mountOptions: ['ro', 'relatime'] });
    expect(mounts[1]?.superOptions).toEqual(['rw']);
    expect(mounts[3]?.mountPoint).toBe('/mnt/with space');
  });

  it('finds the innermost mount of a path, the later of two on one mount point', () => {
    expect(findMount(mounts, '/sysroot/ostree/bootc/storage')?.mountId).toBe(31);
    expect(findMount(mounts, '/sysroot/ostree/repo')?.mountId).toBe(41);
    expect(findMount(mounts, '/sysrootx')?.mountId).toBe(22);
    expect(findMount(mounts, '/')?.mountId).toBe(22);
  });

  it('is never "our own namespace" without the launcher marker, nor with our own namespace as marker', () => {
    expect(inOwnMountNamespace({})).toBe(false);
    const ours = readlinkSync('/proc/self/ns/mnt');
    expect(inOwnMountNamespace({ BOOTC_STORAGED_HOST_MNTNS: ours })).toBe(false);
    expect(inOwnMountNamespace({ BOOTC_STORAGED_HOST_MNTNS: 'mnt:[1]' })).toBe(true);
  });
});
