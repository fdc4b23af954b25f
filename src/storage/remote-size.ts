// The registry's answer to "how big is this pull?": `skopeo inspect --raw` of the reference (and, for a
// manifest list, of this machine's platform entry), summed from the untrusted manifest (manifest.ts). A
// failure is an answer too: the reason is kept so the caller can log why it goes on without a size.

import { findExecutable } from './find-executable.js';
import { parseManifest, pickPlatform, type RemoteSize, sumManifest } from './manifest.js';
import type { ImageReference } from './reference.js';
import { lastLine, type RunPodmanResult } from './run-podman.js';

/** The size, or why there is none (skopeo missing, the registry refused, an unusable manifest). */
export type RemoteSizeAnswer = { size: RemoteSize } | { size: undefined; reason: string };

export interface RemoteSizeQuery {
  /** PATH and CONTAINERS_REGISTRIES_CONF of the store's podman environment. */
  env: NodeJS.ProcessEnv;
  /** Runs `program args` with the store's credentials, capturing stdout (Store.run, outside any namespace). */
  run: (program: string, args: readonly string[]) => Promise<RunPodmanResult>;
}

/** Asks the registry, through skopeo at the lowest CPU priority, how many bytes and layers `ref` fetches. */
export async function queryRemoteSize(ref: ImageReference, q: RemoteSizeQuery): Promise<RemoteSizeAnswer> {
  const skopeo = findExecutable('skopeo', q.env.PATH);
  const nice = findExecutable('nice', q.env.PATH);
  if (!skopeo || !nice) return { size: undefined, reason: 'skopeo or nice is not installed' };
  const inspect = async (target: string) => {
    // skopeo 1.9 ignores CONTAINERS_REGISTRIES_CONF (podman honours it): pass it as the flag.
    const conf = q.env.CONTAINERS_REGISTRIES_CONF;
    const global = conf ? ['--registries-conf', conf] : [];
    // At the lowest CPU priority: it may run beside podman's decompression and must not slow the pull.
    const result = await q.run(nice, [
      '-n',
      '19',
      skopeo,
      ...global,
      'inspect',
      '--raw',
      '--',
      `docker://${target}`,
    ]);
    if (result.exitCode !== 0) return `skopeo inspect failed: ${lastLine(result.stderrTail)}`;
    // Untrusted: checked against a schema (safe non-negative sizes, sha256 digests) before any use.
    return parseManifest(result.stdout) ?? 'the registry sent a manifest whose sizes cannot be trusted';
  };
  let manifest = await inspect(ref.canonical);
  if (typeof manifest !== 'string' && manifest.manifests) {
    const digest = pickPlatform(manifest);
    manifest = digest ? await inspect(`${ref.repository}@${digest}`) : 'no entry for this platform';
  }
  if (typeof manifest === 'string') return { size: undefined, reason: manifest };
  const size = sumManifest(manifest);
  return size ? { size } : { size: undefined, reason: 'the manifest lists no layers or an unsafe total' };
}
