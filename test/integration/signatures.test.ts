// Issue 24 item 3: the host's signature policy, enforced and named. A GPG key made here signs an image as it is
// pushed (`skopeo copy --sign-by`), its signature goes to a lookaside store served on loopback, and the daemon
// runs in a stand-in host namespace whose /etc/containers has a policy.json requiring that key for the test
// registry and a registries.d pointing at the lookaside (the real default paths, which podman and skopeo read).
// The signed image pulls; an unsigned one fails with SignatureRejected (naming the image and the policy's
// reason) on D-Bus, on Varlink and in the CLI (its own exit status), by both pull paths (skopeo and podman).

import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VarlinkCallError, VarlinkClient } from '../../src/api/varlink/client.js';
import { EXIT } from '../../src/errors.js';
import { runCli } from '../helpers/cli-process.js';
import { callStorage, errorName, listNames } from '../helpers/daemon.js';
import { type HostNamespace, startHostNamespace } from '../helpers/host-namespace.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { makeTempDir } from '../helpers/tmp.js';

const S = 'org.bootc.Storage';
const dir = makeTempDir('bsd-signatures-');
chmodSync(dir.path, 0o755);
const SOCKET = join(dir.path, 'org.bootc.Storage');
const gnupg = join(dir.path, 'gnupg');
const sigstore = join(dir.path, 'sigstore');
let s: Stack;
let host: HostNamespace;
let lookaside: Server;
const ref: { signed: string; unsigned: string; otherKey: string } = {
  signed: '',
  unsigned: '',
  otherKey: '',
};

/** gpg in the test's own keyring, no agent prompts. */
const gpg = (home: string, args: string[]) =>
  execFileSync(
    'gpg',
    ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );

/** A signing key in `home`; returns its fingerprint. */
function makeKey(home: string, name: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  gpg(home, ['--quick-gen-key', `${name} <${name}@example.invalid>`, 'rsa2048', 'sign', 'never']);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(home, ['--with-colons', '--list-keys']))?.[1];
  if (!fpr) throw new Error('no fingerprint for the test key');
  return fpr;
}

/** Copies an image inside the registry, signing it with `fpr` from `home` (the signature lands in `sigstore`). */
function copySigned(from: string, to: string, home: string, fpr: string) {
  const regd = join(dir.path, 'registries.d-sign');
  mkdirSync(regd, { recursive: true });
  writeFileSync(join(regd, 'default.yaml'), `default-docker:\n  sigstore-staging: file://${sigstore}\n`);
  execFileSync(
    'skopeo',
    [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--registries.d',
      regd,
      '--sign-by',
      fpr,
      `docker://${from}`,
      `docker://${to}`,
    ],
    { env: { ...process.env, GNUPGHOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Serves the lookaside store's files (signatures) on 127.0.0.1. */
function serveLookaside(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')));
    try {
      if (!path.startsWith(root) || !statSync(path).isFile()) throw new Error('not a file');
      res.end(readFileSync(path));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  host = await startHostNamespace();
  s = await startStack({ hostPid: () => host.pid });
  const h = s.registry.host;
  const fpr = makeKey(gnupg, 'bootc-storaged-test');
  const otherHome = join(dir.path, 'gnupg-other');
  const otherFpr = makeKey(otherHome, 'someone-else');
  mkdirSync(sigstore, { recursive: true });
  for (const name of ['src', 'other-src'])
    await s.builder.buildAndPush(`${h}/sig/${name}:1`, { bytes: 2048 });
  ref.signed = `${h}/sig/signed:1`;
  ref.unsigned = `${h}/sig/src:1`;
  ref.otherKey = `${h}/sig/other:1`;
  copySigned(`${h}/sig/src:1`, ref.signed, gnupg, fpr);
  copySigned(`${h}/sig/other-src:1`, ref.otherKey, otherHome, otherFpr);
  lookaside = await serveLookaside(sigstore);
  const port = (lookaside.address() as AddressInfo).port;

  // The host's /etc/containers, as an admin would set it up: its files, plus a policy requiring the test key for
  // the test registry, and registries.d saying where that registry's signatures are.
  const etc = join(dir.path, 'etc-containers');
  cpSync('/etc/containers', etc, { recursive: true });
  const pub = join(etc, 'bootc-storaged-test.gpg');
  writeFileSync(pub, execFileSync('gpg', ['--homedir', gnupg, '--export', fpr]));
  writeFileSync(
    join(etc, 'policy.json'),
    JSON.stringify({
      default: [{ type: 'insecureAcceptAnything' }],
      transports: {
        docker: {
          [h]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/etc/containers/bootc-storaged-test.gpg' }],
        },
      },
    }),
  );
  mkdirSync(join(etc, 'registries.d'), { recursive: true });
  writeFileSync(
    join(etc, 'registries.d/bootc-storaged-test.yaml'),
    `docker:\n  ${h}:\n    sigstore: http://127.0.0.1:${port}\n`,
  );
  const r = host.exec(['mount', '--bind', etc, '/etc/containers']);
  if (r.code !== 0) throw new Error(`mount --bind /etc/containers failed: ${r.stderr}`);
  await s.restartDaemon(['--varlink-socket', SOCKET]);
}, 120_000);

afterAll(async () => {
  await s?.stop();
  host?.stop();
  lookaside?.close();
  for (const home of [gnupg, join(dir.path, 'gnupg-other')]) {
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    } catch {
      // no agent left
    }
  }
  dir.remove();
});

const names = () => listNames(s.client);

/** Runs the CLI against the test bus to its end. */
const cli = (args: string[]) => runCli(s.bus.address, args);

describe.each([
  ['skopeo (the default copier here)', 'skopeo', [] as string[]],
  ['podman', 'podman', ['--pull-with', 'podman']],
])('signature policy, pulling with %s', (_label, copier, args) => {
  beforeAll(async () => {
    await s.restartDaemon(['--varlink-socket', SOCKET, ...args]);
    for (const r of Object.values(ref)) {
      await callStorage(s.client, 'Remove', 'as', [[r]]).catch(() => undefined);
    }
  });

  it('pulls the image signed by the required key', async () => {
    expect(await callStorage(s.client, 'Pull', 'ss', [ref.signed, 'missing'])).toEqual([true]);
    expect(await names()).toContain(ref.signed);
    // The copier this row is about is the one that pulled (the daemon logs it with each pull).
    expect(s.daemon.output()).toMatch(new RegExp(`"copier":"[^"]*\\b${copier}"`));
  });

  it('refuses an unsigned image with SignatureRejected on D-Bus, naming the image and the reason; nothing stored', async () => {
    const err = await callStorage(s.client, 'Pull', 'ss', [ref.unsigned, 'always']).catch((e: unknown) => e);
    expect(await errorName(Promise.reject(err))).toBe(`${S}.Error.SignatureRejected`);
    const text = (err as { text: string }).text;
    expect(text).toContain(ref.unsigned);
    expect(text).toMatch(/signature/i);
    expect(await names()).not.toContain(ref.unsigned);
    // Final: not retried as a transient failure.
    expect(s.daemon.output()).not.toMatch(/pull failed transiently; retrying/);
  });

  it('refuses an image signed by another key, over Varlink too', async () => {
    const c = await VarlinkClient.connect(SOCKET);
    try {
      const err = await c
        .call(`${S}.Pull`, { image: ref.otherKey, policy: 'missing' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VarlinkCallError);
      expect((err as VarlinkCallError).error).toBe(`${S}.SignatureRejected`);
      expect(JSON.stringify((err as VarlinkCallError).parameters)).toContain(ref.otherKey);
    } finally {
      c.close();
    }
    expect(await names()).not.toContain(ref.otherKey);
  });

  it('the CLI exits with its own status for it', async () => {
    const r = await cli(['pull', '--quiet', ref.unsigned]);
    expect(r.code).toBe(EXIT.SIGNATURE_REJECTED);
    expect(r.stderr).toContain(ref.unsigned);
    expect(r.stderr).toMatch(/signature policy/);
  });
});
