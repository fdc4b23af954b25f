// Which failed pulls are worth another try. A pull fails with podman's (or skopeo's) last error line, and that
// line alone says whether the registry may answer next time: connection refused or reset, a timeout, a 5xx,
// a 429. Everything else (credentials, an unknown manifest, a bad reference, a full disk, a cancel) fails
// the same way again, so it is never retried. Patterns were measured against podman 4.3.1 and skopeo 1.9.3
// (a local docker-registry behind a misbehaving proxy); the lines they print are quoted beside each rule.

import { isStorageError } from '../errors.js';
import { lastLine } from './run-in-store.js';

/** Why a failure is worth a retry. */
export type TransientReason =
  | 'connection-refused'
  | 'connection-reset'
  | 'timeout'
  | 'network'
  | 'server-error'
  | 'rate-limited'
  | 'stalled';

/** Why a failure is final. */
export type PermanentReason =
  | 'canceled'
  | 'time-limit'
  | 'unauthorized'
  | 'not-found'
  | 'invalid-reference'
  | 'disk-full'
  | 'not-a-pull-failure'
  | 'unrecognized';

/** The verdict on one failed attempt. */
export type PullFailureClass =
  | { transient: true; reason: TransientReason }
  | { transient: false; reason: PermanentReason };

/** Final failures first: a line naming both (a 5xx body saying "denied") is not retried. */
const PERMANENT: [RegExp, PermanentReason][] = [
  // "write /…/storaged-tmp/…: no space left on device"
  [/no space left on device|disk quota exceeded/i, 'disk-full'],
  // "reading manifest v1 in …: unauthorized: authentication required", "…: unauthorized", "…: denied"
  [
    /\bunauthorized\b|authentication required|\bdenied\b|\bforbidden\b|\b(?:status|StatusCode):? 40[13]\b/i,
    'unauthorized',
  ],
  // "reading manifest nope in …: manifest unknown: manifest unknown"; distribution's NAME_UNKNOWN
  [/manifest unknown|name unknown|\bnot found\b|\b(?:status|StatusCode):? 404\b/i, 'not-found'],
  // podman: "repository name must be lowercase"; skopeo: "invalid reference format: …"
  [/invalid reference|repository name must be lowercase/i, 'invalid-reference'],
];

const TRANSIENT: [RegExp, TransientReason][] = [
  // "pinging container registry …: Get \"http://…/v2/\": dial tcp …: connect: connection refused"
  [/connection refused/i, 'connection-refused'],
  // "Get \"http://…/manifests/v1\": read tcp …: read: connection reset by peer"; a closed connection:
  // "Get \"http://…/manifests/v1\": EOF"; a blob cut mid-transfer: "unexpected EOF"
  [/connection reset|broken pipe|unexpected EOF|: EOF\b/i, 'connection-reset'],
  [
    /i\/o timeout|TLS handshake timeout|timeout awaiting response headers|Client\.Timeout|deadline exceeded/i,
    'timeout',
  ],
  [
    /network is unreachable|no route to host|temporary failure in name resolution|server misbehaving/i,
    'network',
  ],
  // An empty 429: "StatusCode: 429, "; Docker Hub's: "toomanyrequests: You have reached your pull rate limit…"
  [/toomanyrequests|too many requests|\b(?:status|StatusCode):? 429\b/i, 'rate-limited'],
  // manifest: "received unexpected HTTP status: 503 Service Unavailable"; blob: "invalid status code from
  // registry 503 (Service Unavailable)"; a registry's UNAVAILABLE error body: "unavailable: …"
  [/(?:HTTP status|status code from registry|StatusCode):? 5\d\d\b|\bunavailable: /i, 'server-error'],
];

/** Sorts a failed attempt: transient (try again) or permanent (give up now), with the reason. */
export function classifyPullFailure(err: unknown): PullFailureClass {
  if (isStorageError(err, 'Canceled')) return { transient: false, reason: 'canceled' };
  if (!isStorageError(err, 'PullFailed')) return { transient: false, reason: 'not-a-pull-failure' };
  const reason = err.details.reason;
  if (reason === 'time-limit') return { transient: false, reason: 'time-limit' };
  if (reason === 'stalled') return { transient: true, reason: 'stalled' };
  const tail = err.details.stderrTail;
  // podman's final "Error: …" line is what failed; earlier lines may be warnings of its own retries.
  const line = typeof tail === 'string' && tail.trim() !== '' ? lastLine(tail) : err.message;
  for (const [re, why] of PERMANENT) if (re.test(line)) return { transient: false, reason: why };
  for (const [re, why] of TRANSIENT) if (re.test(line)) return { transient: true, reason: why };
  return { transient: false, reason: 'unrecognized' };
}
