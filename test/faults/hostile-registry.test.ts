// A hostile (or intercepted) registry: its manifest claims layer sizes of 1e309 (Infinity once parsed), or
// strings, or a platform digest that is not one. The daemon must stay up, the pull must end with a named error
// for its caller (not hang), and the next pull from an honest registry must work.

import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callStorage, errorName } from '../helpers/daemon.js';
import { getFreePort } from '../helpers/ports.js';
import { type Stack, startStack } from '../helpers/stack.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
/** Manifests by repository; sizes written raw into the JSON text, as a hostile server can. */
const MANIFESTS: Record<string, string> = {
  infinite: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${digest('a')}","size":1e309},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${digest('b')}","size":1e309}]}`,
  strings: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${digest('a')}","size":"12"},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${digest('b')}","size":"9007199254740993"}]}`,
  huge: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${digest('a')}","size":9007199254740991},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${digest('b')}","size":9007199254740991}]}`,
  index: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
    "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"../../etc/passwd","size":1,
    "platform":{"os":"linux","architecture":"amd64"}}]}`,
};

let s: Stack;
let hostile: Server;
let hostileHost: string;
const requests: string[] = [];

beforeAll(async () => {
  const port = await getFreePort();
  hostileHost = `127.0.0.1:${port}`;
  hostile = createServer((req, res) => {
    const skopeo = /^skopeo\//.test(req.headers['user-agent'] ?? '');
    requests.push(`${skopeo ? 'skopeo' : 'podman'} ${req.method} ${req.url}`);
    const m = /^\/v2\/hostile\/([a-z]+)\/manifests\//.exec(req.url ?? '');
    if (req.url === '/v2/' || req.url === '/v2') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    } else if (m && MANIFESTS[m[1]!]) {
      const body = MANIFESTS[m[1]!]!;
      const type = body.includes('image.index') ? 'index' : 'manifest';
      // podman gets its answer late, so the daemon's size query (skopeo) is answered while the pull runs.
      setTimeout(
        () => {
          res.writeHead(200, { 'Content-Type': `application/vnd.oci.image.${type}.v1+json` });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        skopeo ? 0 : 1500,
      );
    } else {
      res.writeHead(404).end(); // no blobs: every pull from here fails
    }
  });
  await new Promise<void>((r) => hostile.listen(port, '127.0.0.1', r));
  s = await startStack({
    beforeDaemon: (sb) =>
      appendFileSync(sb.registriesConf, `\n[[registry]]\nlocation = "${hostileHost}"\ninsecure = true\n`),
  });
});
afterAll(async () => {
  await s?.stop();
  hostile?.close();
});

describe('a registry serving hostile manifests', () => {
  for (const name of Object.keys(MANIFESTS)) {
    it(`${name}: the pull fails with a named error, the daemon stays up`, async () => {
      const ref = `${hostileHost}/hostile/${name}:1`;
      const err = await errorName(callStorage(s.client, 'Pull', 'ss', [ref, 'always']));
      expect(err).toBe('org.bootc.Storage.Error.PullFailed');
      expect(s.daemon.proc.exitCode).toBeNull();
      // The daemon's size query really read the hostile manifest, while podman was still pulling.
      expect(requests).toContain(`skopeo GET /v2/hostile/${name}/manifests/1`);
      expect(await callStorage(s.client, 'ListJobs')).toEqual([[]]);
    });
  }

  it('pulls from an honest registry afterwards, with exact progress totals', async () => {
    const ref = `${s.registry.host}/honest/app:1`;
    await s.builder.buildAndPush(ref);
    expect(await callStorage(s.client, 'Pull', 'ss', [ref, 'always'])).toEqual([true]);
    expect(s.daemon.output()).not.toMatch(/publishing a job change failed/);
    expect(s.daemon.proc.exitCode).toBeNull();
  });
});
