// Which failed pulls are retried: podman 4.3.1's and skopeo 1.9.3's own words for each failure, as they
// printed them against a local docker-registry behind a misbehaving proxy (test/helpers/flaky-proxy.ts).

import { describe, expect, it } from 'vitest';
import { createError } from '../../src/errors.js';
import { classifyPullFailure } from '../../src/storage/transient-failure.js';

const R = '127.0.0.1:46449';
const SRC = `initializing source docker://${R}/m/img:v1`;
const MANIFEST = `reading manifest v1 in ${R}/m/img`;

/** A PullFailed as Store.pull makes it, from podman's stderr. */
const pullFailed = (stderrTail: string, details: Record<string, unknown> = {}) =>
  createError('PullFailed', 'pulling x failed', { exitCode: 125, stderrTail, ...details });
const podman = (error: string) => `Trying to pull ${R}/m/img:v1...\nError: ${error}\n`;
const skopeo = (error: string) =>
  `time="2026-12-02T23:18:49Z" level=fatal msg="Error parsing image name \\"docker://${R}/m/img:v1\\": ${error}"\n`;

const TRANSIENT: [string, string, string][] = [
  [
    '503 on the manifest',
    `${SRC}: ${MANIFEST}: received unexpected HTTP status: 503 Service Unavailable`,
    'server-error',
  ],
  [
    '500 on the manifest',
    `${SRC}: ${MANIFEST}: received unexpected HTTP status: 500 Internal Server Error`,
    'server-error',
  ],
  [
    '502 on the manifest',
    `${SRC}: ${MANIFEST}: received unexpected HTTP status: 502 Bad Gateway`,
    'server-error',
  ],
  [
    '503 on a blob',
    'parsing image configuration: Error fetching blob: invalid status code from registry 503 (Service Unavailable)',
    'server-error',
  ],
  ['429 with an UNAVAILABLE body', `${SRC}: ${MANIFEST}: unavailable: flaky proxy says 429`, 'server-error'],
  [
    "429 with Docker Hub's body",
    `${SRC}: ${MANIFEST}: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit`,
    'rate-limited',
  ],
  ['429 without a body', `${SRC}: ${MANIFEST}: StatusCode: 429, `, 'rate-limited'],
  [
    'connection refused',
    `${SRC}: pinging container registry ${R}: Get "http://${R}/v2/": dial tcp ${R}: connect: connection refused`,
    'connection-refused',
  ],
  [
    'connection reset',
    `${SRC}: Get "http://${R}/v2/m/img/manifests/v1": read tcp 127.0.0.1:59002->${R}: read: connection reset by peer`,
    'connection-reset',
  ],
  [
    'connection closed before an answer',
    `${SRC}: Get "http://${R}/v2/m/img/manifests/v1": EOF`,
    'connection-reset',
  ],
  [
    'dial timeout',
    `${SRC}: pinging container registry ${R}: Get "https://${R}/v2/": dial tcp ${R}: i/o timeout`,
    'timeout',
  ],
  [
    'TLS handshake timeout',
    `${SRC}: pinging container registry ${R}: Get "https://${R}/v2/": net/http: TLS handshake timeout`,
    'timeout',
  ],
  [
    'network down',
    `${SRC}: pinging container registry ${R}: Get "https://${R}/v2/": dial tcp ${R}: connect: network is unreachable`,
    'network',
  ],
];

const PERMANENT: [string, string, string][] = [
  ['401 without a challenge', `${SRC}: ${MANIFEST}: unauthorized`, 'unauthorized'],
  [
    '401 from an htpasswd registry',
    `${SRC}: ${MANIFEST}: unauthorized: authentication required`,
    'unauthorized',
  ],
  ['403', `${SRC}: ${MANIFEST}: denied`, 'unauthorized'],
  [
    'unknown tag',
    `${SRC}: reading manifest nope in ${R}/m/img: manifest unknown: manifest unknown`,
    'not-found',
  ],
  [
    'unknown repository',
    `${SRC}: reading manifest v1 in ${R}/m/nothing: manifest unknown: manifest unknown`,
    'not-found',
  ],
  ['invalid reference (podman)', 'repository name must be lowercase', 'invalid-reference'],
  [
    'disk full',
    'writing blob: storing blob to file "/sysroot/ostree/bootc/storaged-tmp/pull-x/1": write /sysroot/ostree/bootc/storaged-tmp/pull-x/1: no space left on device',
    'disk-full',
  ],
  ['anything else', 'Source image rejected: Running image docker://x is rejected by policy.', 'unrecognized'],
];

describe('podman pull failures', () => {
  it.each(TRANSIENT)('retries %s', (_name, error, reason) => {
    expect(classifyPullFailure(pullFailed(podman(error)))).toEqual({ transient: true, reason });
  });
  it.each(PERMANENT)('does not retry %s', (_name, error, reason) => {
    expect(classifyPullFailure(pullFailed(podman(error)))).toEqual({ transient: false, reason });
  });

  it("judges podman's final line, not the warnings of its own retries before it", () => {
    const warn = `time="…" level=warning msg="Failed, retrying in 1s ... (1/3). Error: ${SRC}: Get \\"http://${R}/v2/\\": EOF"`;
    const tail = `${warn}\nError: ${SRC}: ${MANIFEST}: manifest unknown: manifest unknown\n`;
    expect(classifyPullFailure(pullFailed(tail))).toEqual({ transient: false, reason: 'not-found' });
  });
});

describe('skopeo (the size query) speaks the same way', () => {
  it.each([
    [`${MANIFEST}: received unexpected HTTP status: 503 Service Unavailable`, true],
    [`Get \\"http://${R}/v2/m/img/manifests/v1\\": EOF`, true],
    [`${MANIFEST}: unauthorized`, false],
    [`invalid reference format: repository name must be lowercase`, false],
  ])('%s', (error, transient) => {
    expect(classifyPullFailure(pullFailed(skopeo(error))).transient).toBe(transient);
  });
});

describe('failures that are not podman lines', () => {
  it('retries a stall (the registry stopped sending)', () => {
    expect(classifyPullFailure(pullFailed('', { reason: 'stalled' }))).toEqual({
      transient: true,
      reason: 'stalled',
    });
  });
  it("never retries a cancel, the pull's own time limit or any other error", () => {
    expect(classifyPullFailure(createError('Canceled', 'podman was canceled')).reason).toBe('canceled');
    expect(classifyPullFailure(pullFailed('', { reason: 'time-limit' })).reason).toBe('time-limit');
    expect(classifyPullFailure(createError('NoSpace', 'x')).transient).toBe(false);
    expect(classifyPullFailure(createError('AuthFileInvalid', 'x')).transient).toBe(false);
    expect(classifyPullFailure(new Error('connection refused')).transient).toBe(false);
  });
  it('falls back to the message when there is no stderr', () => {
    const err = createError('PullFailed', 'pulling x failed: connect: connection refused');
    expect(classifyPullFailure(err)).toEqual({ transient: true, reason: 'connection-refused' });
  });
});
