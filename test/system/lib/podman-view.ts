// Helpers shared by image-view.test.ts and fedora-storage-conf.test.ts: podman's own list of the daemon's
// store, run inside the booted container the way the daemon runs podman (the store bound at /run/bootc/storage,
// the run root an open directory at /proc/self/fd/3), so podman's database (whose recorded graph root and run
// root podman checks against its flags) is the daemon's; the daemon's journal lines; the job properties.

import { type ImageEntry, parseImageList } from '../../../src/storage/parse-image-list.js';
import type { Container } from './container.js';

/** `podman image list --format=json` on the daemon's store, inside the container: its output. */
async function podmanListText(c: Container): Promise<string> {
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
  return c.run(['sh', '-c', script]);
}

/** The raw JSON of `podman image list --format=json` on the daemon's store, inside the container. */
export async function podmanListRaw(c: Container): Promise<Record<string, unknown>[]> {
  const out = await podmanListText(c);
  return JSON.parse(out.trim() === '' ? '[]' : out) as Record<string, unknown>[];
}

/**
 * podman's list, one entry per image, sorted by ID: podman 5.4 prints an image with two names twice, and
 * the daemon's own parser of podman's list (src/storage/parse-image-list.ts, its fallback) merges them.
 */
export async function podmanList(c: Container): Promise<ImageEntry[]> {
  return parseImageList(await podmanListText(c)).sort((a, b) => a.id.localeCompare(b.id));
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
