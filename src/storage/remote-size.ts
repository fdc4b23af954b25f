// The registry's answer to "how big is this pull?": `skopeo inspect --raw` of the reference (and, for a
// manifest list, of this machine's platform entry), summed from the untrusted manifest (manifest.ts). A
// failure is an answer too: the reason is kept so the caller can log why it goes on without a size.

import { findExecutable } from '../process/find-executable.js';
import { parseManifest, pickPlatform, type RemoteSize, sumManifest } from './manifest.js';
import type { ImageReference } from './reference.js';
import { lastLine, type RunInStoreResult } from './run-in-store.js';

/** The size, or why there is none (skopeo missing, the registry refused, an unusable manifest). */
export type RemoteSizeAnswer = { size: RemoteSize } | { size: undefined; reason: string };

export interface RemoteSizeQuery {
  /** PATH and CONTAINERS_REGISTRIES_CONF of the store's podman environment. */
  env: NodeJS.ProcessEnv;
  /** Runs `program args` with the store's credentials, capturing stdout (Store.run, outside any namespace). */
  run: (program: string, args: readonly string[]) => Promise<RunInStoreResult>;
  /**
   * The pull runs beside the query (a re-pull of a present image): ask at the lowest CPU priority so it
   * never slows the pull. Otherwise the pull waits for this answer (the space check), and nice 19 would only
   * make it wait longer on a busy machine.
   */
  beside?: boolean | undefined;
}

/** Asks the registry, through skopeo (at nice 19 beside a pull), how many bytes and layers `ref` fetches. */
export async function queryRemoteSize(ref: ImageReference, q: RemoteSizeQuery): Promise<RemoteSizeAnswer> {
  const skopeo = findExecutable('skopeo', q.env.PATH);
  const nice = q.beside ? findExecutable('nice', q.env.PATH) : undefined;
  if (!skopeo || (q.beside && !nice)) return { size: undefined, reason: 'skopeo or nice is not installed' };
  const inspect = async (target: string) => {
    // skopeo 1.9 ignores CONTAINERS_REGISTRIES_CONF (podman honours it): pass it as the flag.
    const conf = q.env.CONTAINERS_REGISTRIES_CONF;
    const global = conf ? ['--registries-conf', conf] : [];
    const args = [...global, 'inspect', '--raw', '--', `docker://${target}`];
    // Beside a pull, at the lowest CPU priority: it must not slow podman's decompression.
    const result = nice ? await q.run(nice, ['-n', '19', skopeo, ...args]) : await q.run(skopeo, args);
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
