// GC roots from fake ostree deployments: bound-images.d quadlets and origin files, and every way they can be
// wrong (each aborts the whole computation, naming the file).

import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findGcRoots, listDeployments } from '../../src/gc/find-roots.js';
import { addDeployment, containerQuadlet, imageQuadlet } from '../helpers/deployments.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('bsd-gc-');
});
afterEach(() => tmp.remove());

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
    const booted = addDeployment(tmp.path, {
      serial: 0,
      quadlets: {
        'db.image': imageQuadlet('quay.io/app/db:1'),
        'web.container': containerQuadlet('docker.io/nginx'),
      },
      origin: 'ostree-unverified-registry:quay.io/os/host:42',
    });
    const rollback = addDeployment(tmp.path, {
      serial: 1,
      stateroot: 'other',
      relativeLinks: true,
      quadlets: { 'db.image': imageQuadlet('quay.io/app/db:0') },
      origin: 'ostree-image-signed:docker://quay.io/os/host:41',
    });
    const roots = findGcRoots(tmp.path);
    expect(roots.map((r) => r.image).sort()).toEqual(
      [
        'quay.io/app/db:1',
        'docker.io/library/nginx:latest',
        'quay.io/os/host:42',
        'quay.io/app/db:0',
        'quay.io/os/host:41',
      ].sort(),
    );
    expect(listDeployments(tmp.path).sort()).toEqual([booted.dir, rollback.dir].sort());
    expect(roots.find((r) => r.image === 'quay.io/app/db:0')?.deployment).toBe(rollback.dir);
  });

  it('understands %% and every ostree origin transport', () => {
    addDeployment(tmp.path, {
      quadlets: { 'a.image': imageQuadlet('quay.io/x/y:v%%1') },
      origin: 'docker://quay.io/os/a:1',
    });
    expect(() => findGcRoots(tmp.path)).toThrow(/InvalidReference|invalid image reference/);
    tmp.remove();
    tmp = makeTempDir('bsd-gc-');
    addDeployment(tmp.path, {
      quadlets: { 'a.image': '[Image]\nImage="quay.io/x/y:1"\n' },
      origin: 'ostree-remote-image:fedora:docker://quay.io/os/a:1',
    });
    addDeployment(tmp.path, { origin: 'ostree-unverified-image:docker://quay.io/os/b:2' });
    expect(
      findGcRoots(tmp.path)
        .map((r) => r.image)
        .sort(),
    ).toEqual(['quay.io/os/a:1', 'quay.io/os/b:2', 'quay.io/x/y:1']);
  });

  it('ignores files that are not .image or .container', () => {
    const d = addDeployment(tmp.path, { quadlets: { 'a.image': imageQuadlet('quay.io/x/y:1') } });
    writeFileSync(join(d.dir, 'usr/lib/bootc/bound-images.d/README'), 'not a quadlet');
    expect(findGcRoots(tmp.path).map((r) => r.image)).toEqual(['quay.io/x/y:1']);
  });

  it('refuses to run with no deployments', () => {
    expect(thrown(() => findGcRoots(tmp.path)).name).toBe('NoRoots');
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
    addDeployment(tmp.path, { quadlets: { 'ok.image': imageQuadlet('quay.io/x/ok:1') } });
    const d = addDeployment(tmp.path, { quadlets: { [name]: text } });
    const err = thrown(() => findGcRoots(tmp.path));
    expect(err.name).toBe('InvalidBoundImage');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(d.dir);
  });

  it('aborts on a link that leaves the deployment, a dangling link, a non-link, and a bad origin', () => {
    const d1 = addDeployment(tmp.path, {});
    symlinkSync(
      '../../../../../../../../../etc/passwd',
      join(d1.dir, 'usr/lib/bootc/bound-images.d/evil.image'),
    );
    expect(thrown(() => findGcRoots(tmp.path)).message).toMatch(/outside the deployment/);
    tmp.remove();
    tmp = makeTempDir('bsd-gc-');
    const d2 = addDeployment(tmp.path, {});
    symlinkSync(
      '/usr/share/containers/systemd/missing.image',
      join(d2.dir, 'usr/lib/bootc/bound-images.d/missing.image'),
    );
    expect(thrown(() => findGcRoots(tmp.path)).message).toMatch(/does not exist/);
    tmp.remove();
    tmp = makeTempDir('bsd-gc-');
    const d3 = addDeployment(tmp.path, {});
    mkdirSync(join(d3.dir, 'usr/lib/bootc/bound-images.d'), { recursive: true });
    writeFileSync(join(d3.dir, 'usr/lib/bootc/bound-images.d/plain.image'), imageQuadlet('quay.io/x/y:1'));
    expect(thrown(() => findGcRoots(tmp.path)).message).toMatch(/not a symbolic link/);
    tmp.remove();
    tmp = makeTempDir('bsd-gc-');
    addDeployment(tmp.path, { origin: 'frobnicate:/tmp/evil' });
    const err = thrown(() => findGcRoots(tmp.path));
    expect(err.name).toBe('InvalidBoundImage');
    expect(err.message).toMatch(/\.origin: container-image-reference has an unknown form/);
  });

  it('counts no root for a host image from a non-registry transport, and goes on', () => {
    addDeployment(tmp.path, {
      origin: 'ostree-unverified-image:oci:/var/lib/images/os',
      quadlets: { 'a.image': imageQuadlet('quay.io/x/y:1') },
    });
    addDeployment(tmp.path, { origin: 'ostree-unverified-image:containers-storage:quay.io/os/local:1' });
    expect(findGcRoots(tmp.path).map((r) => r.image)).toEqual(['quay.io/x/y:1']);
  });

  it('resolves every component of a link inside the deployment, never on the running system', () => {
    // usr/share/containers is itself an absolute link to /etc/containers: inside the deployment, that is the
    // deployment's etc/containers, not the host's.
    const d = addDeployment(tmp.path, {});
    mkdirSync(join(d.dir, 'etc/containers/systemd'), { recursive: true });
    writeFileSync(join(d.dir, 'etc/containers/systemd/db.image'), imageQuadlet('quay.io/rollback/db:1'));
    mkdirSync(join(d.dir, 'usr/share'), { recursive: true });
    symlinkSync('/etc/containers', join(d.dir, 'usr/share/containers'));
    symlinkSync(
      '/usr/share/containers/systemd/db.image',
      join(d.dir, 'usr/lib/bootc/bound-images.d/db.image'),
    );
    expect(findGcRoots(tmp.path).map((r) => r.image)).toEqual(['quay.io/rollback/db:1']);
    // A relative link climbing out through an intermediate directory is refused.
    symlinkSync('../../../../../../..', join(d.dir, 'usr/share/up'));
    symlinkSync('/usr/share/up/etc/passwd', join(d.dir, 'usr/lib/bootc/bound-images.d/evil.image'));
    expect(thrown(() => findGcRoots(tmp.path)).message).toMatch(/outside the deployment/);
  });
});
