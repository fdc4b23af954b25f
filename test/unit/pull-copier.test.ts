// Which program pulls: skopeo only where its pull is podman's (same install, nothing in storage.conf that a
// `containers-storage:[overlay@root+run]` reference would drop), its arguments, and how its output is read.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  configIdOf,
  copierMessage,
  copyArgs,
  findEquivalentCopier,
  isPlainStorageConf,
} from '../../src/storage/copy-pull.js';
import { readStoredSize } from '../../src/storage/manifest.js';
import { parseReference } from '../../src/storage/reference.js';
import { makeTempDir } from '../helpers/tmp.js';

let tmp: { path: string; remove: () => void };
let bin: string;
beforeEach(() => {
  tmp = makeTempDir('bsd-copier-');
  bin = join(tmp.path, 'bin');
  mkdirSync(bin);
  for (const tool of ['podman', 'skopeo']) {
    writeFileSync(join(bin, tool), '#!/bin/sh\n');
    chmodSync(join(bin, tool), 0o755);
  }
});
afterEach(() => tmp.remove());

const FEDORA = `
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
[storage.options]
additionalimagestores = [
]
pull_options = {enable_partial_images = "false", use_hard_links = "false", ostree_repos=""}
[storage.options.overlay]
mountopt = "nodev,metacopy=on"
`;

it('takes a storage.conf that sets nothing a pull depends on', () => {
  expect(isPlainStorageConf('')).toBe(true);
  expect(isPlainStorageConf('# all defaults\n[storage]\ndriver = "overlay"\n')).toBe(true);
  expect(isPlainStorageConf(FEDORA)).toBe(true);
});

it('refuses one whose options would change the pull', () => {
  expect(isPlainStorageConf('[storage]\ndriver = "vfs"\n')).toBe(false);
  expect(
    isPlainStorageConf('[storage.options]\nadditionalimagestores = ["/usr/lib/containers/storage"]\n'),
  ).toBe(false);
  expect(isPlainStorageConf('[storage.options]\npull_options = {enable_partial_images = "true"}\n')).toBe(
    false,
  );
  expect(isPlainStorageConf('[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"\n')).toBe(
    false,
  );
  expect(isPlainStorageConf('[storage.options.overlay]\nforce_mask = "shared"\n')).toBe(false);
});

it('uses skopeo only from podman’s own directory, and never with store variables or a changed storage.conf', () => {
  const none = () => undefined;
  expect(findEquivalentCopier(join(bin, 'podman'), {}, none)).toBe(join(bin, 'skopeo'));
  expect(findEquivalentCopier(join(tmp.path, 'elsewhere', 'podman'), {}, none)).toBeUndefined();
  expect(findEquivalentCopier(join(bin, 'podman'), { STORAGE_OPTS: 'x' }, none)).toBeUndefined();
  const conf = (text: string) => (path: string) =>
    path === '/etc/containers/storage.conf' ? text : undefined;
  expect(findEquivalentCopier(join(bin, 'podman'), {}, conf(FEDORA))).toBe(join(bin, 'skopeo'));
  expect(
    findEquivalentCopier(join(bin, 'podman'), {}, conf('[storage]\ndriver = "btrfs"\n')),
  ).toBeUndefined();
  // CONTAINERS_STORAGE_CONF replaces the default files, as it does for podman
  const custom = (path: string) => (path === '/x.conf' ? 'mount_program = "f"' : FEDORA);
  expect(
    findEquivalentCopier(join(bin, 'podman'), { CONTAINERS_STORAGE_CONF: '/x.conf' }, custom),
  ).toBeUndefined();
});

it('copies into the store at the alias with the anonymous credentials, registries.conf as a flag, and -- first', () => {
  const args = copyArgs(
    parseReference('quay.io/a/b:1'),
    { CONTAINERS_REGISTRIES_CONF: '/r.conf' },
    '/t/pull-1',
  );
  expect(args).toEqual([
    '--registries-conf',
    '/r.conf',
    '--tmpdir',
    '/t/pull-1',
    'copy',
    '--authfile',
    '/proc/self/fd/4',
    '--retry-times',
    '3',
    '--',
    'docker://quay.io/a/b:1',
    'containers-storage:[overlay@/run/bootc/storage+/proc/self/fd/3]quay.io/a/b:1',
  ]);
});

it('reads the image ID from the config line and the message from the fatal line', () => {
  expect(configIdOf(`Copying config sha256:${'c'.repeat(64)}`)).toBe('c'.repeat(64));
  expect(configIdOf(`Copying blob sha256:${'c'.repeat(64)}`)).toBeUndefined();
  const tail =
    'Getting image source signatures\ntime="2026-12-03T06:00:00Z" level=fatal msg="initializing source docker://h/a:1: reading manifest 1 in h/a: manifest unknown: \\"x\\""\n';
  expect(copierMessage(tail)).toBe(
    'initializing source docker://h/a:1: reading manifest 1 in h/a: manifest unknown: "x"',
  );
});

it("reads a pulled image's size from the manifest the store keeps (the final figures, without the registry)", () => {
  const id = 'c'.repeat(64);
  mkdirSync(join(tmp.path, 'overlay-images', id), { recursive: true });
  const digest = `sha256:${'e'.repeat(64)}`;
  writeFileSync(
    join(tmp.path, 'overlay-images', id, 'manifest'),
    JSON.stringify({
      config: { size: 100, digest },
      layers: [
        { size: 1000, digest },
        { size: 24, digest },
      ],
    }),
  );
  expect(readStoredSize(tmp.path, id)).toEqual({ bytes: 1124, layers: 2 });
  expect(readStoredSize(tmp.path, 'd'.repeat(64))).toBeUndefined();
  expect(readStoredSize(tmp.path, '../etc')).toBeUndefined();
});
