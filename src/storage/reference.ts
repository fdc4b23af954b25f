// The one parser and normalizer of image references. Every caller-supplied image string passes through
// here before anything else sees it; what comes out can never be read by podman as an option or a transport.
// Grammar: github.com/distribution/reference (regexp.go), restricted to fully-qualified names.

import { createError } from '../errors.js';

/** Longest raw input accepted: a 255-char name, a 128-char tag and a sha512 digest fit. */
export const MAX_REFERENCE_LENGTH = 1024;
/** distribution/reference NameTotalLengthMax: domain + path. */
export const MAX_NAME_LENGTH = 255;

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})';

const REFERENCE_RE = new RegExp(
  `^(?<domain>${DOMAIN})/(?<path>${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(?<tag>${TAG}))?(?:@(?<digest>${DIGEST}))?$`,
);
const IMAGE_ID_RE = /^(?:sha256:)?(?<id>[a-f0-9]{64})$/;

/** Transport prefixes understood by containers/image, skopeo and ostree-rs-ext; never accepted. */
const TRANSPORTS = new Set([
  'docker',
  'docker-archive',
  'docker-daemon',
  'oci',
  'oci-archive',
  'dir',
  'containers-storage',
  'ostree',
  'sif',
  'tarball',
  'registry',
  'ostree-unverified-registry',
  'ostree-unverified-image',
  'ostree-remote-registry',
  'ostree-remote-image',
  'ostree-image-signed',
]);

export interface ImageReference {
  /** Registry host, normalized (`index.docker.io` → `docker.io`). */
  readonly domain: string;
  /** Repository path, normalized (`docker.io/alpine` → `library/alpine`). */
  readonly path: string;
  /** Tag; `latest` when the input had neither tag nor digest. */
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** `domain/path`. */
  readonly repository: string;
  /** The normalized reference as podman would name it: `repo[:tag][@digest]`. */
  readonly canonical: string;
  /** `repo:tag` when there is a tag: what podman stores in an image's Names. */
  readonly nameKey: string | undefined;
  /** `repo@digest` when there is a digest: what podman stores in RepoDigests. */
  readonly digestKey: string | undefined;
}

/** Rejects, with a reason code, what must never reach podman; the first check that fails names the problem. */
function rejectUnsafe(input: string): void {
  if (input.length === 0) throw invalid(input, 'empty', 'the image reference is empty');
  if (input.length > MAX_REFERENCE_LENGTH) {
    throw invalid(input, 'too-long', `the image reference is longer than ${MAX_REFERENCE_LENGTH} characters`);
  }
  if (input.startsWith('-')) throw invalid(input, 'option', 'an image reference cannot start with "-"');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we reject
  if (/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/u.test(input)) {
    throw invalid(input, 'whitespace', 'an image reference cannot contain whitespace or control characters');
  }
  const colon = input.indexOf(':');
  const slash = input.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) {
    const prefix = input.slice(0, colon);
    const rest = input.slice(colon + 1);
    if (TRANSPORTS.has(prefix.toLowerCase()) || rest.startsWith('/') || rest.startsWith('[')) {
      throw invalid(
        input,
        'transport',
        `transports such as ${quote(`${prefix}:`)} are not accepted; give a registry reference like quay.io/org/image:tag`,
      );
    }
  }
  if (slash === -1) {
    throw invalid(
      input,
      'not-qualified',
      'short names are not accepted; give a fully-qualified reference like docker.io/library/alpine:latest',
    );
  }
}

const ECHO_LIMIT = 80;

/** At most ECHO_LIMIT chars of `s`, never cut inside a surrogate pair, with "…" when shortened. */
function shorten(s: string): string {
  if (s.length <= ECHO_LIMIT) return s;
  const last = s.charCodeAt(ECHO_LIMIT - 1);
  return `${s.slice(0, last >= 0xd800 && last <= 0xdbff ? ECHO_LIMIT - 1 : ECHO_LIMIT)}…`;
}

/** Quotes caller text for a message: shortened, and kept to one printable line (controls, separators, bidi and
 * zero-width marks become \u escapes). */
function quote(s: string): string {
  return JSON.stringify(shorten(s)).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) =>
    Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(
      '',
    ),
  );
}

function invalid(input: string, reason: string, message: string) {
  // Echo at most a short prefix of the input: enough to recognise it, never a 10 kB blob in a log line.
  return createError('InvalidReference', `invalid image reference ${quote(input)}: ${message}`, {
    reason,
    input: shorten(input),
  });
}

/** Parses and normalizes a fully-qualified registry reference; throws InvalidReference otherwise. */
export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string')
    throw invalid(String(input), 'syntax', 'the image reference is not a string');
  rejectUnsafe(input);
  const m = REFERENCE_RE.exec(input);
  if (!m?.groups) {
    const firstPart = input.slice(0, input.indexOf('/'));
    if (!/[.:]/.test(firstPart) && firstPart !== 'localhost') {
      throw invalid(
        input,
        'not-qualified',
        `${quote(firstPart)} is not a registry host (it needs a "." or ":" or to be "localhost"); give a fully-qualified reference`,
      );
    }
    if (input.includes('@') && !/@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(input)) {
      throw invalid(input, 'digest', 'a digest must be sha256:<64 hex> or sha512:<128 hex>');
    }
    throw invalid(
      input,
      'syntax',
      'expected host/path[:tag][@digest] with a lowercase path (letters, digits, ".", "_", "-")',
    );
  }
  const groups = m.groups as { domain: string; path: string; tag?: string; digest?: string };
  let domain = groups.domain;
  const firstLabel = domain.replace(/:[0-9]+$/, '');
  if (!/[.:]/.test(domain) && firstLabel !== 'localhost') {
    throw invalid(
      input,
      'not-qualified',
      `${quote(domain)} is not a registry host (it needs a "." or ":" or to be "localhost"); give a fully-qualified reference`,
    );
  }
  // Docker Hub normalization, as containers/image applies it (distribution's splitDockerDomain).
  let path = groups.path;
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const repository = `${domain}/${path}`;
  // Measured after normalization, as distribution's ParseNormalizedNamed does: docker.io/x is docker.io/library/x,
  // and a canonical name must parse again.
  if (repository.length > MAX_NAME_LENGTH) {
    throw invalid(input, 'too-long', `the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  const digest = groups.digest;
  const tag = groups.tag ?? (digest === undefined ? 'latest' : undefined);
  const nameKey = tag === undefined ? undefined : `${repository}:${tag}`;
  const digestKey = digest === undefined ? undefined : `${repository}@${digest}`;
  const canonical = `${repository}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
  return { domain, path, tag, digest, repository, canonical, nameKey, digestKey };
}

/** Parses a name podman reported (already normalized by podman); undefined when it is not a registry name. */
export function tryParseStoredName(name: string): ImageReference | undefined {
  try {
    return parseReference(name);
  } catch {
    return undefined;
  }
}

/** A removal target: a reference, or a full 64-hex image ID (optionally `sha256:`-prefixed). */
export type ImageTarget = { kind: 'id'; id: string } | { kind: 'reference'; ref: ImageReference };

/** Parses what Remove accepts: a full image ID or a fully-qualified reference. */
export function parseImageTarget(input: string): ImageTarget {
  const id = typeof input === 'string' ? IMAGE_ID_RE.exec(input)?.groups?.id : undefined;
  if (id !== undefined) return { kind: 'id', id };
  return { kind: 'reference', ref: parseReference(input) };
}
