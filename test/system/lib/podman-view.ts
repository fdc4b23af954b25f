// Helpers shared by image-view.test.ts and fedora-storage-conf.test.ts: podman's own list of the daemon's
// store, run inside the booted container the way the daemon runs podman (the store bound at /run/bootc/storage,
// the run root an open directory at /proc/self/fd/3), so podman's database (whose recorded graph root and run
// root podman checks against its flags) is the daemon's; the daemon's journal lines; the job properties.

import type { Container } from './container.js';

/** One image as podman 5's `image list --format=json` prints it, the fields compared. */
export interface PodmanImage {
  id: string;
  names: string[];
  digests: string[];
  digest: string;
  size: number;
  created: number;
}

/** The raw JSON of `podman image list --format=json` on the daemon's store, inside the container. */
export async function podmanListRaw(c: Container): Promise<Record<string, unknown>[]> {
  const script = [
    'set -e',
    'mkdir -p /run/bootc',
    // A private mount namespace: the tmpfs and the bind vanish with this shell.
    "exec unshare -m --propagation private sh -c 'set -e",
    'mount -t tmpfs tmpfs /run/bootc',
    'mkdir /run/bootc/storage /run/bootc/runroot',
    'mount --bind /sysroot/ostree/bootc/storage /run/bootc/storage',
    // Writable here even under a read-only /sysroot, as in the daemon's namespace (podman opens its database rw).
    'mount -o remount,bind,rw /run/bootc/storage',
    'exec 3</run/bootc/runroot',
    "exec podman --root /run/bootc/storage --runroot /proc/self/fd/3 image list --format=json'",
  ].join('\n');
  const out = await c.run(['sh', '-c', script]);
  return JSON.parse(out.trim() === '' ? '[]' : out) as Record<string, unknown>[];
}

/**
 * podman's list, one entry per image. podman 5.4 prints an image with two names twice (one JSON entry per
 * name, each with all the names and repo digests), as `parseImageList` expects: entries of one ID are merged
 * here the same way (names and repo digests deduplicated, in the order first printed).
 */
export async function podmanList(c: Container): Promise<PodmanImage[]> {
  const byId = new Map<string, PodmanImage>();
  for (const e of await podmanListRaw(c)) {
    const id = e.Id as string;
    const names = (e.Names as string[] | null | undefined) ?? [];
    const digests = (e.RepoDigests as string[] | null | undefined) ?? [];
    const seen = byId.get(id);
    if (seen) {
      for (const n of names) if (!seen.names.includes(n)) seen.names.push(n);
      for (const d of digests) if (!seen.digests.includes(d)) seen.digests.push(d);
      continue;
    }
    byId.set(id, {
      id,
      names: [...new Set(names)],
      digests: [...new Set(digests)],
      digest: (e.Digest as string | undefined) ?? '',
      size: e.Size as number,
      created: e.Created as number,
    });
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** The daemon's own journal lines (MESSAGE is `msg {json fields}`). */
export async function daemonLines(c: Container): Promise<string[]> {
  return (await c.journal('bootc-storaged.service'))
    .filter((e) => e.SYSLOG_IDENTIFIER === 'bootc-storaged')
    .map((e) => e.MESSAGE ?? '');
}

/** Properties of a job object, as busctl prints them (JSON). */
export async function jobProperties(
  c: Container,
  id: number,
  ...props: string[]
): Promise<Record<string, unknown>> {
  const out = await c.run([
    'busctl',
    '--system',
    '--json=short',
    'get-property',
    'org.bootc.Storage',
    `/org/bootc/Storage/job/${id}`,
    'org.bootc.Storage.Job',
    ...props,
  ]);
  const values = out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { data: unknown }).data);
  return Object.fromEntries(props.map((p, i) => [p, values[i]]));
}

/** The comm of every podman, skopeo or conmon process in the container. */
export async function copierProcesses(c: Container): Promise<string[]> {
  const out = await c.run(['sh', '-c', 'for p in /proc/[0-9]*; do cat "$p/comm" 2>/dev/null; done; true']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(podman|skopeo|conmon)$/.test(l));
}

/** The manifest digest the registry serves for REPO:TAG (the Docker-Content-Digest of a HEAD). */
export async function manifestDigest(registryHost: string, repo: string, tag: string): Promise<string> {
  const res = await fetch(`http://${registryHost}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      Accept: [
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ].join(', '),
    },
  });
  const digest = res.headers.get('docker-content-digest');
  if (!res.ok || !digest) throw new Error(`no manifest digest for ${repo}:${tag} (HTTP ${res.status})`);
  return digest;
}

/**
 * Pushes SRC (already in the registry) again as DEST compressed as zstd:chunked, with the container's own
 * podman (5.4 on Debian 13) through its default store.
 */
export async function pushZstdChunked(c: Container, src: string, dest: string): Promise<void> {
  await c.run(['podman', 'pull', '-q', '--tls-verify=false', src], { timeoutMs: 300_000 });
  await c.run(
    [
      'podman',
      'push',
      '-q',
      '--tls-verify=false',
      '--compression-format',
      'zstd:chunked',
      '--force-compression',
      src,
      `docker://${dest}`,
    ],
    { timeoutMs: 300_000 },
  );
}
