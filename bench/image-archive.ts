// Docker-archives of many distinct tiny images (bench/prune.ts, bench/scale.ts, bench/reads.ts): each image is its
// own single layer of 64 random bytes, so podman's layer tree stays flat (one shared layer made its list take minutes).

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

/** One ustar entry: a regular file `name` (≤ 100 bytes) holding `content`. */
function makeTarEntry(name: string, content: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0`, 148);
  return Buffer.concat([h, content, Buffer.alloc((512 - (content.length % 512)) % 512)]);
}

const TAR_END = Buffer.alloc(1024);

/** Writes a multi-image docker-archive (what `podman save --multi-image-archive` writes) of one image per name. */
export function writeImageArchive(path: string, names: readonly string[]): void {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
  const fd = openSync(path, 'w');
  try {
    const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
    for (const name of names) {
      const layer = Buffer.concat([makeTarEntry('data', randomBytes(64)), TAR_END]);
      const diffId = createHash('sha256').update(layer).digest('hex');
      const config = Buffer.from(
        JSON.stringify({
          architecture: arch,
          os: 'linux',
          created: '2024-01-01T00:00:00Z',
          config: {},
          rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
        }),
      );
      const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
      writeSync(fd, makeTarEntry(`${diffId}/layer.tar`, layer));
      writeSync(fd, makeTarEntry(configName, config));
      manifest.push({ Config: configName, RepoTags: [name], Layers: [`${diffId}/layer.tar`] });
    }
    writeSync(fd, makeTarEntry('manifest.json', Buffer.from(JSON.stringify(manifest))));
    writeSync(fd, TAR_END);
  } finally {
    closeSync(fd);
  }
}
