// Builds fake ostree deployments inside a sandbox sysroot, the way bootc lays them out, for GC tests.

import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface FakeDeployment {
  dir: string;
  checksum: string;
}

/**
 * `<sysroot>/ostree/deploy/<stateroot>/deploy/<checksum>.<serial>` with quadlet files under
 * usr/share/containers/systemd linked from usr/lib/bootc/bound-images.d, and an origin file.
 */
export function addDeployment(
  sysroot: string,
  opts: {
    stateroot?: string;
    serial?: number;
    /** name → quadlet text; `.image` / `.container` names are linked into bound-images.d. */
    quadlets?: Record<string, string>;
    /** host image reference with its ostree transport, e.g. `ostree-unverified-registry:quay.io/x/os:42` */
    origin?: string;
    /** link with a relative target instead of an absolute one */
    relativeLinks?: boolean;
  },
): FakeDeployment {
  const checksum = randomBytes(32).toString('hex');
  const base = join(sysroot, 'ostree/deploy', opts.stateroot ?? 'default', 'deploy');
  const dir = join(base, `${checksum}.${opts.serial ?? 0}`);
  const bound = join(dir, 'usr/lib/bootc/bound-images.d');
  mkdirSync(bound, { recursive: true });
  for (const [name, text] of Object.entries(opts.quadlets ?? {})) {
    const file = join(dir, 'usr/share/containers/systemd', name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    symlinkSync(
      opts.relativeLinks
        ? `../../../share/containers/systemd/${name}`
        : `/usr/share/containers/systemd/${name}`,
      join(bound, name),
    );
  }
  if (opts.origin !== undefined) {
    writeFileSync(`${dir}.origin`, `[origin]\ncontainer-image-reference=${opts.origin}\n`);
  }
  return { dir, checksum };
}

export const imageQuadlet = (image: string) => `[Unit]\nDescription=bound\n\n[Image]\nImage=${image}\n`;
export const containerQuadlet = (image: string) =>
  `[Unit]\nDescription=app\n\n[Container]\nImage=${image}\nExec=/bin/true\n\n[Install]\nWantedBy=default.target\n`;
