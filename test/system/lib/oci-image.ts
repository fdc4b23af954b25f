// Hand-made two-layer OCI images whose unpacking needs what the unit's sandbox could take away: a setuid
// program (RestrictSUIDSGID= would refuse it), a file deleted by the second layer (an overlay whiteout,
// created with mknod: CAP_MKNOD, the device policy, the syscall filter), files owned by another user
// (CAP_CHOWN). `podman build` cannot make these from scratch without running a container, so the layers are
// tar files written here and pushed with skopeo.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' };

function blob(dir: string, content: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(dir, 'blobs/sha256', hex), content);
  return { digest: `sha256:${hex}`, size: content.length };
}

async function tarLayer(tree: string): Promise<Buffer> {
  const out = `${tree}.tar`;
  await run('tar', ['--numeric-owner', '--sort=name', '-C', tree, '-cf', out, '.']);
  return readFileSync(out);
}

/**
 * Pushes `ref` (on an insecure registry): layer 1 has /usr/bin/suid-tool (mode 4755), /etc/doomed and
 * /srv/owned (uid:gid 1234:1234); layer 2 deletes /etc/doomed (a `.wh.doomed` whiteout) and adds /etc/marker.
 */
export async function pushLayeredImage(dir: string, ref: string): Promise<void> {
  const l1 = join(dir, 'layer1');
  const l2 = join(dir, 'layer2');
  const layout = join(dir, 'oci');
  for (const d of [join(l1, 'usr/bin'), join(l1, 'etc'), join(l1, 'srv'), join(l2, 'etc')]) {
    mkdirSync(d, { recursive: true });
  }
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(l1, 'usr/bin/suid-tool'), '#!/bin/sh\necho I am setuid\n');
  chmodSync(join(l1, 'usr/bin/suid-tool'), 0o4755);
  writeFileSync(join(l1, 'etc/doomed'), 'removed by the next layer\n');
  writeFileSync(join(l1, 'srv/owned'), 'owned by 1234\n');
  chownSync(join(l1, 'srv/owned'), 1234, 1234);
  writeFileSync(join(l2, 'etc/.wh.doomed'), '');
  writeFileSync(join(l2, 'etc/marker'), 'layer 2\n');

  const layers = [await tarLayer(l1), await tarLayer(l2)];
  const layerBlobs = layers.map((l) => blob(layout, l));
  const config = blob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: ARCH[process.arch] ?? process.arch,
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: layerBlobs.map((b) => b.digest) },
        history: [{ created_by: 'layer 1 (test)' }, { created_by: 'layer 2 (test)' }],
      }),
    ),
  );
  const manifest = blob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: layerBlobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...b })),
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'test' },
        },
      ],
    }),
  );
  await run('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:test`, `docker://${ref}`]);
}
