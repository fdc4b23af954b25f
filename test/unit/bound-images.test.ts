// Per-deployment bound images on real ostree sysroots: what each deployment binds, through which link and
// quadlet, and whether the store has it (a presence check over an image list, matched as Exists matches).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPresenceCheck, listBoundImages } from '../../src/gc/bound-images.js';
import type { ImageEntry } from '../../src/storage/parse-image-list.js';
import {
  containerQuadlet,
  deploy,
  imageQuadlet,
  makeTempSysroot,
  type OstreeDeployment,
  stage,
} from '../helpers/ostree-sysroot.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
let run: { path: string; remove: () => void };
let sysroot: string;
beforeEach(() => {
  tmp = makeTempSysroot('bsd-bound-');
  run = makeTempDir('bsd-run-');
  sysroot = tmp.path;
});
afterEach(() => {
  tmp.remove();
  run.remove();
});

const name = (d: OstreeDeployment) => `${d.checksum}.${d.serial}`;
const hex = (c: string) => c.repeat(64);
const image = (id: string, names: string[], digests: string[] = []): ImageEntry => ({
  id,
  names,
  digests,
  digest: '',
  size: 1,
  created: 0,
});

describe('listBoundImages', () => {
  it('lists every binding of every deployment in boot order, with the link, the quadlet and presence', async () => {
    const rollback = deploy(sysroot, {
      quadlets: { 'db.image': imageQuadlet('quay.io/app/db:1') },
      relativeLinks: true,
    });
    const booted = deploy(sysroot, {
      boundImagesDirLink: '/usr/share/bootc-bound-images',
      quadlets: {
        'db.image': imageQuadlet('quay.io/app/db:2'),
        'web.container': containerQuadlet('docker.io/nginx'),
      },
    });
    const staged = await stage(sysroot, run.path, {
      quadlets: {
        'db.image': imageQuadlet('quay.io/app/db:2'),
        'cache.image': imageQuadlet('quay.io/app/cache:1'),
      },
    });
    const store = [
      image(hex('1'), ['quay.io/app/db:2']),
      image(hex('2'), ['docker.io/library/nginx:latest']),
      image(hex('3'), ['quay.io/app/db:0']),
    ];
    const bound = listBoundImages(sysroot, createPresenceCheck(store), {
      rootPath: booted.dir,
      runDir: run.path,
    });
    const q = (f: string) => `usr/share/containers/systemd/${f}`;
    expect(bound).toEqual([
      {
        image: 'quay.io/app/cache:1',
        deployment: name(staged),
        file: 'usr/lib/bootc/bound-images.d/cache.image',
        quadlet: q('cache.image'),
        present: false,
      },
      {
        image: 'quay.io/app/db:2',
        deployment: name(staged),
        file: 'usr/lib/bootc/bound-images.d/db.image',
        quadlet: q('db.image'),
        present: true,
      },
      {
        image: 'quay.io/app/db:2',
        deployment: name(booted),
        // the link as the deployment names it, though bound-images.d is a symlink to usr/share/bootc-bound-images
        file: 'usr/lib/bootc/bound-images.d/db.image',
        quadlet: q('db.image'),
        present: true,
      },
      {
        image: 'docker.io/library/nginx:latest',
        deployment: name(booted),
        file: 'usr/lib/bootc/bound-images.d/web.container',
        quadlet: q('web.container'),
        present: true,
      },
      {
        image: 'quay.io/app/db:1',
        deployment: name(rollback),
        file: 'usr/lib/bootc/bound-images.d/db.image',
        quadlet: q('db.image'),
        present: false,
      },
    ]);
  });

  it('fails as GC does, with InvalidBoundImage naming the file, when any quadlet cannot be understood', () => {
    deploy(sysroot, { quadlets: { 'db.image': imageQuadlet('quay.io/app/db:1') } });
    deploy(sysroot, { retain: true, quadlets: { 'bad.image': '[Image]\nImage=quay.io/x/y:%H\n' } });
    let err: (Error & { name: string }) | undefined;
    try {
      listBoundImages(sysroot, () => true, { rootPath: run.path, runDir: run.path });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('InvalidBoundImage');
    expect(err?.message).toMatch(/bad\.image: Image= uses the specifier %H/);
  });

  it('returns nothing for deployments that bind nothing', () => {
    deploy(sysroot, {});
    expect(listBoundImages(sysroot, () => true, { rootPath: run.path, runDir: run.path })).toEqual([]);
  });
});

describe('createPresenceCheck', () => {
  const digest = `sha256:${hex('d')}`;
  const store = [
    image(hex('1'), ['docker.io/library/alpine:latest']),
    image(hex('2'), ['quay.io/app/db:1'], [`quay.io/app/db@${digest}`]),
  ];
  const isPresent = createPresenceCheck(store);

  it('normalizes both sides, as Exists does', () => {
    expect(isPresent('docker.io/alpine')).toBe(true);
    expect(isPresent('index.docker.io/library/alpine:latest')).toBe(true);
    expect(isPresent('quay.io/app/db:1')).toBe(true);
    expect(isPresent('quay.io/app/db:2')).toBe(false);
  });

  it('needs the pinned digest for a digest reference (the tag naming other content is not it)', () => {
    expect(isPresent(`quay.io/app/db@${digest}`)).toBe(true);
    expect(isPresent(`quay.io/app/db:1@sha256:${hex('e')}`)).toBe(false);
  });
});
