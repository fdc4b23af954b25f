// GC roots from real ostree deployments (test/helpers/ostree-sysroot.ts): bound-images.d quadlets and origin
// files, and every way they can be wrong (each aborts the whole computation, naming the file). ostree commits
// whatever the tree holds, so even escaping and dangling links are deployments ostree really made.

import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findGcRoots, listDeployments } from '../../src/gc/find-roots.js';
import { containerQuadlet, deploy, imageQuadlet, makeTempSysroot } from '../helpers/ostree-sysroot.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void } | undefined;
/** A fresh, empty ostree sysroot (the previous one is removed). */
function freshSysroot(): string {
  tmp?.remove();
  tmp = makeTempSysroot('bsd-gc-');
  return tmp.path;
}
let sysroot: string;
beforeEach(() => {
  sysroot = freshSysroot();
});
afterEach(() => tmp?.remove());

function thrown(fn: () => unknown): Error & { details: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    return err as Error & { details: Record<string, unknown> };
  }
  throw new Error('expected a throw');
}

describe('findGcRoots', () => {
  it('collects bound images of every deployment (booted and rollback) and their host images', () => {
    const rollback = deploy(sysroot, {
      stateroot: 'other',
      relativeLinks: true,
      quadlets: { 'db.image': imageQuadlet('quay.io/app/db:0') },
      origin: 'ostree-image-signed:docker://quay.io/os/host:41',
    });
    const booted = deploy(sysroot, {
      quadlets: {
        'db.image': imageQuadlet('quay.io/app/db:1'),
        'web.container': containerQuadlet('docker.io/nginx'),
      },
      origin: 'ostree-unverified-registry:quay.io/os/host:42',
    });
    const roots = findGcRoots(sysroot);
    expect(roots.map((r) => r.image).sort()).toEqual(
      [
        'quay.io/app/db:1',
        'docker.io/library/nginx:latest',
        'quay.io/os/host:42',
        'quay.io/app/db:0',
        'quay.io/os/host:41',
      ].sort(),
    );
    expect(listDeployments(sysroot).sort()).toEqual([booted.dir, rollback.dir].sort());
    expect(roots.find((r) => r.image === 'quay.io/app/db:0')?.deployment).toBe(rollback.dir);
  });

  it('understands %% and every ostree origin transport', () => {
    deploy(sysroot, {
      quadlets: { 'a.image': imageQuadlet('quay.io/x/y:v%%1') },
      origin: 'docker://quay.io/os/a:1',
    });
    expect(() => findGcRoots(sysroot)).toThrow(/InvalidReference|invalid image reference/);
    sysroot = freshSysroot();
    deploy(sysroot, {
      quadlets: { 'a.image': '[Image]\nImage="quay.io/x/y:1"\n' },
      origin: 'ostree-remote-image:fedora:docker://quay.io/os/a:1',
    });
    deploy(sysroot, { origin: 'ostree-unverified-image:docker://quay.io/os/b:2' });
    expect(
      findGcRoots(sysroot)
        .map((r) => r.image)
        .sort(),
    ).toEqual(['quay.io/os/a:1', 'quay.io/os/b:2', 'quay.io/x/y:1']);
  });

  it('ignores files that are not .image or .container', () => {
    deploy(sysroot, {
      quadlets: { 'a.image': imageQuadlet('quay.io/x/y:1') },
      files: { 'usr/lib/bootc/bound-images.d/README': 'not a quadlet' },
    });
    expect(findGcRoots(sysroot).map((r) => r.image)).toEqual(['quay.io/x/y:1']);
  });

  it('refuses to run with no deployments', () => {
    expect(thrown(() => findGcRoots(sysroot)).name).toBe('NoRoots');
  });

  const BAD: [string, string, string, RegExp][] = [
    ['a.image', '[Image]\nImage=quay.io/x/y:%n\n', 'specifier', /%n/],
    ['a.image', '[Image]\nImage=quay.io/x/y:1\nAuthFile=/etc/secret.json\n', 'AuthFile', /AuthFile/],
    ['a.image', '[Unit]\nDescription=x\n', 'no Image=', /no Image=/],
    ['a.container', '[Image]\nImage=quay.io/x/y:1\n', 'wrong section', /\[Container\]/],
    ['a.image', '[Image]\nImage=alpine\n', 'short name', /short names|not a registry host/],
    ['a.image', '[Image]\nthis line is junk\n', 'junk line', /line 2/],
  ];
  it.each(BAD)('aborts on %s with %s (%s), naming the file', (name, text, _what, message) => {
    deploy(sysroot, { quadlets: { 'ok.image': imageQuadlet('quay.io/x/ok:1') } });
    const d = deploy(sysroot, { quadlets: { [name]: text } });
    const err = thrown(() => findGcRoots(sysroot));
    expect(err.name).toBe('InvalidBoundImage');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(d.dir);
  });

  it('aborts on a link that leaves the deployment, a dangling link, a non-link, and a bad origin', () => {
    const bound = 'usr/lib/bootc/bound-images.d';
    deploy(sysroot, { symlinks: { [`${bound}/evil.image`]: '../../../../../../../../../etc/passwd' } });
    expect(thrown(() => findGcRoots(sysroot)).message).toMatch(/outside the deployment/);
    sysroot = freshSysroot();
    deploy(sysroot, {
      symlinks: { [`${bound}/missing.image`]: '/usr/share/containers/systemd/missing.image' },
    });
    expect(thrown(() => findGcRoots(sysroot)).message).toMatch(/does not exist/);
    sysroot = freshSysroot();
    deploy(sysroot, { files: { [`${bound}/plain.image`]: imageQuadlet('quay.io/x/y:1') } });
    expect(thrown(() => findGcRoots(sysroot)).message).toMatch(/not a symbolic link/);
    sysroot = freshSysroot();
    deploy(sysroot, { origin: 'frobnicate:/tmp/evil' });
    const err = thrown(() => findGcRoots(sysroot));
    expect(err.name).toBe('InvalidBoundImage');
    expect(err.message).toMatch(/\.origin: container-image-reference has an unknown form/);
  });

  it('counts no root for a host image from a non-registry transport, and goes on', () => {
    deploy(sysroot, {
      origin: 'ostree-unverified-image:oci:/var/lib/images/os',
      quadlets: { 'a.image': imageQuadlet('quay.io/x/y:1') },
    });
    deploy(sysroot, { origin: 'ostree-unverified-image:containers-storage:quay.io/os/local:1' });
    expect(findGcRoots(sysroot).map((r) => r.image)).toEqual(['quay.io/x/y:1']);
  });

  it('resolves every component of a link inside the deployment, never on the running system', () => {
    // usr/share/containers is itself an absolute link to /etc/containers: inside the deployment, that is the
    // deployment's etc/containers (ostree made it from usr/etc), not the host's.
    deploy(sysroot, {
      files: { 'usr/etc/containers/systemd/db.image': imageQuadlet('quay.io/rollback/db:1') },
      symlinks: {
        'usr/share/containers': '/etc/containers',
        'usr/lib/bootc/bound-images.d/db.image': '/usr/share/containers/systemd/db.image',
      },
    });
    expect(findGcRoots(sysroot).map((r) => r.image)).toEqual(['quay.io/rollback/db:1']);
    // A relative link climbing out through an intermediate directory is refused (here in a newer deployment).
    deploy(sysroot, {
      symlinks: {
        'usr/share/up': '../../../../../../..',
        'usr/lib/bootc/bound-images.d/evil.image': '/usr/share/up/etc/passwd',
      },
    });
    expect(thrown(() => findGcRoots(sysroot)).message).toMatch(/outside the deployment/);
  });

  it('resolves bound-images.d itself inside the deployment: an absolute link to it is not the host path', () => {
    // The host has no /usr/share/bootc-bound-images: listed by its host path, this deployment binds nothing.
    deploy(sysroot, {
      boundImagesDirLink: '/usr/share/bootc-bound-images',
      quadlets: { 'db.image': imageQuadlet('quay.io/staged/db:2') },
    });
    deploy(sysroot, {
      boundImagesDirLink: '../../share/bootc-bound-images',
      quadlets: { 'web.container': containerQuadlet('quay.io/staged/web:2') },
    });
    expect(
      findGcRoots(sysroot)
        .map((r) => r.image)
        .sort(),
    ).toEqual(['quay.io/staged/db:2', 'quay.io/staged/web:2']);
  });

  it('aborts, naming the path, when bound-images.d cannot be read (a loop, a file, a link out)', () => {
    deploy(sysroot, { quadlets: { 'ok.image': imageQuadlet('quay.io/x/ok:1') } });
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'usr/lib/bootc/loop': '/usr/lib/bootc/bound-images.d' }, /loop|ELOOP/],
      [{ 'usr/lib/bootc/x': '../../../../..' }, /outside|escapes/],
    ];
    // A symlink loop: bound-images.d -> loop -> bound-images.d.
    const loop = deploy(sysroot, {
      boundImagesDirLink: '/usr/lib/bootc/loop',
      symlinks: cases[0]![0],
    });
    let err = thrown(() => findGcRoots(sysroot));
    expect(err.name).toBe('InvalidBoundImage');
    expect(err.message).toContain(loop.dir);
    expect(err.message).toMatch(cases[0]![1]);
    // A regular file where the directory should be.
    sysroot = freshSysroot();
    const file = deploy(sysroot, {
      files: { 'usr/lib/bootc/bound-images.d.tmp': '' },
      boundImagesDirLink: 'bound-images.d.tmp',
    });
    err = thrown(() => findGcRoots(sysroot));
    expect(err.name).toBe('InvalidBoundImage');
    expect(err.message).toContain(file.dir);
    expect(err.message).toMatch(/ENOTDIR/);
    // A link leaving the deployment.
    sysroot = freshSysroot();
    deploy(sysroot, { boundImagesDirLink: '../../../../../../..' });
    err = thrown(() => findGcRoots(sysroot));
    expect(err.name).toBe('InvalidBoundImage');
    expect(err.message).toMatch(/escapes/);
  });
});

// A hostile .origin (a FIFO, a link to /dev/zero, a giant file, a directory) must neither hang nor exhaust the
// daemon on any user's ListDeployments, nor let GC lose a host image: each is InvalidBoundImage, at once.
// Every call runs in a child process with a time limit, so a reader that blocked on the FIFO (a
// readFileSync never returns) or read /dev/zero forever is killed and fails the test instead of the runner.
describe('hostile .origin files', () => {
  const REPO = fileURLToPath(new URL('../..', import.meta.url));
  const LIMIT_MS = 4000;
  const CHILD = `
    const [bundle, call, sysroot] = process.argv.slice(1);
    const gc = await import(bundle);
    const t0 = performance.now();
    let out;
    try {
      out = { value: call === 'gc'
        ? gc.findGcRoots(sysroot).map((r) => r.image)
        : gc.listDeploymentsWithRoles(sysroot).map((d) => d.hostImage) };
    } catch (e) {
      out = { name: e.name, message: e.message };
    }
    console.log(JSON.stringify({ ...out, ms: performance.now() - t0 }));
  `;
  let build: ReturnType<typeof makeTempDir>;
  let bundle: string;
  beforeAll(() => {
    build = makeTempDir('bsd-gc-bundle-');
    bundle = join(build.path, 'gc.mjs');
    buildSync({
      stdin: {
        contents:
          "export { findGcRoots } from './src/gc/find-roots.ts';\n" +
          "export { listDeploymentsWithRoles } from './src/ostree/deployment-roles.ts';\n",
        resolveDir: REPO,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
    });
  });
  afterAll(() => build.remove());

  type Outcome = { value?: string[]; name?: string; message?: string; ms: number };
  function callIsolated(call: 'gc' | 'list'): Promise<Outcome> {
    const args = ['--input-type=module', '-e', CHILD, bundle, call, sysroot];
    return new Promise((resolve, reject) => {
      execFile(process.execPath, args, { timeout: LIMIT_MS, killSignal: 'SIGKILL' }, (err, stdout) => {
        if (err) reject(new Error(`${call} did not return within ${LIMIT_MS} ms (${err.message})`));
        else resolve(JSON.parse(stdout) as Outcome);
      });
    });
  }

  const HOST = '[origin]\ncontainer-image-reference=ostree-unverified-registry:quay.io/os/host:1\n';
  const HOSTILE: [string, (origin: string) => void, RegExp][] = [
    ['a FIFO', (o) => execFileSync('mkfifo', ['--', o]), /not a regular file \(a FIFO\)/],
    ['a symlink to /dev/zero', (o) => symlinkSync('/dev/zero', o), /is a symbolic link/],
    [
      'a huge file (sparse, a valid origin at its start)',
      (o) => {
        writeFileSync(o, HOST);
        truncateSync(o, 64 * 1024 * 1024);
      },
      /is larger than \d+ bytes/,
    ],
    ['a directory', (o) => mkdirSync(o), /not a regular file \(a directory\)/],
    [
      'a symlink even to a valid origin file',
      (o) => symlinkSync(join(sysroot, 'good.origin'), o),
      /symbolic link/,
    ],
  ];

  it.each(HOSTILE)(
    'an .origin that is %s is InvalidBoundImage for GC and ListDeployments, at once',
    async (_what, make, message) => {
      deploy(sysroot, { origin: 'ostree-unverified-registry:quay.io/os/good:1' });
      const d = deploy(sysroot, { origin: 'ostree-unverified-registry:quay.io/os/host:1' });
      writeFileSync(join(sysroot, 'good.origin'), HOST);
      rmSync(`${d.dir}.origin`);
      make(`${d.dir}.origin`);
      for (const call of ['gc', 'list'] as const) {
        const out = await callIsolated(call);
        expect(out.name, `${call}: ${JSON.stringify(out)}`).toBe('InvalidBoundImage');
        expect(out.message).toContain(`${d.dir}.origin`);
        expect(out.message).toMatch(message);
        expect(out.ms).toBeLessThan(1000);
      }
    },
    30_000,
  );

  it('still reads a regular .origin, and a missing one is no host image', async () => {
    const d = deploy(sysroot, { origin: 'ostree-unverified-registry:quay.io/os/host:1' });
    expect((await callIsolated('list')).value).toEqual(['quay.io/os/host:1']);
    rmSync(`${d.dir}.origin`);
    expect((await callIsolated('list')).value).toEqual(['']);
  }, 30_000);
});
