import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import {
  type ImageReference,
  MAX_NAME_LENGTH,
  MAX_REFERENCE_LENGTH,
  parseImageTarget,
  parseReference,
  tryParseStoredName,
} from '../../src/storage/reference.js';

const SHA256 = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const SHA512 = `${SHA256}${'0123456789abcdef'.repeat(4)}`;
const TAG_128 = `v${'1'.repeat(126)}x`;

/** Transport names of containers/image, skopeo and ostree-rs-ext, listed independently of the parser. */
const TRANSPORT_NAMES = [
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
];

const REASONS = [
  'empty',
  'too-long',
  'option',
  'whitespace',
  'transport',
  'not-qualified',
  'digest',
  'syntax',
] as const;
type Reason = (typeof REASONS)[number];

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/u;
/** A message must stay one printable line: no C0/C1 controls, line separators, bidi or zero-width marks. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
/** With the `u` flag a surrogate range matches only unpaired surrogates. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
/** How much of the input an error may echo: 80 chars plus an ellipsis. */
const ECHO_MAX = 81;

function startsWithTransport(s: string): boolean {
  const lower = s.toLowerCase();
  return TRANSPORT_NAMES.some((t) => lower.startsWith(`${t}:`));
}

/** Runs `fn`, which must throw, and returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, got a value');
}

/** Parses `input`, which must be rejected, and checks the error's shape. */
function rejection(input: string): StorageError {
  const err = thrown(() => parseReference(input));
  expect(err).toBeInstanceOf(StorageError);
  const storageError = err as StorageError;
  expect(storageError.name).toBe('InvalidReference');
  expect(REASONS).toContain(storageError.details.reason);
  return storageError;
}

/** Checks the echo rules on any InvalidReference: short, single-line, well-formed. */
function expectSafeEcho(err: StorageError, input: string): void {
  const shown = err.details.input;
  expect(typeof shown).toBe('string');
  expect((shown as string).length).toBeLessThanOrEqual(ECHO_MAX);
  expect(input.startsWith((shown as string).replace(/…$/, ''))).toBe(true);
  if (!LONE_SURROGATE.test(input)) expect(LONE_SURROGATE.test(shown as string)).toBe(false);
  expect(err.message.startsWith('invalid image reference ')).toBe(true);
  expect(err.message).not.toMatch(UNPRINTABLE);
  expect(err.message).not.toMatch(LONE_SURROGATE);
  // Whatever the message quotes, it never carries a long run of the input.
  if (input.length > ECHO_MAX) expect(err.message).not.toContain(input.slice(0, ECHO_MAX + 1));
}

type Expected = Pick<
  ImageReference,
  'domain' | 'path' | 'canonical' | 'repository' | 'tag' | 'digest' | 'nameKey' | 'digestKey'
>;

function expected(
  domain: string,
  path: string,
  tag: string | undefined,
  digest: string | undefined,
): Expected {
  const repository = `${domain}/${path}`;
  return {
    domain,
    path,
    tag,
    digest,
    repository,
    canonical: `${repository}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`,
    nameKey: tag === undefined ? undefined : `${repository}:${tag}`,
    digestKey: digest === undefined ? undefined : `${repository}@${digest}`,
  };
}

function fields(ref: ImageReference): Expected {
  const { domain, path, canonical, repository, tag, digest, nameKey, digestKey } = ref;
  return { domain, path, canonical, repository, tag, digest, nameKey, digestKey };
}

describe('parseReference: accepted references', () => {
  const accepted: Array<[string, Expected]> = [
    // Docker Hub, normalized as containers/image does.
    ['docker.io/library/alpine:3.20', expected('docker.io', 'library/alpine', '3.20', undefined)],
    ['docker.io/alpine', expected('docker.io', 'library/alpine', 'latest', undefined)],
    ['docker.io/library/alpine', expected('docker.io', 'library/alpine', 'latest', undefined)],
    ['index.docker.io/nginx:1.27', expected('docker.io', 'library/nginx', '1.27', undefined)],
    ['index.docker.io/library/nginx', expected('docker.io', 'library/nginx', 'latest', undefined)],
    ['docker.io/bitnami/redis:7.2', expected('docker.io', 'bitnami/redis', '7.2', undefined)],
    ['index.docker.io/bitnami/redis:7.2', expected('docker.io', 'bitnami/redis', '7.2', undefined)],
    [
      `docker.io/alpine@sha256:${SHA256}`,
      expected('docker.io', 'library/alpine', undefined, `sha256:${SHA256}`),
    ],
    // A port makes it a different host: no Docker Hub rewriting.
    ['docker.io:443/alpine', expected('docker.io:443', 'alpine', 'latest', undefined)],
    // quay.io, ghcr.io, registry.redhat.io.
    ['quay.io/fedora/fedora-bootc:42', expected('quay.io', 'fedora/fedora-bootc', '42', undefined)],
    [
      'quay.io/centos-bootc/centos-bootc:stream10',
      expected('quay.io', 'centos-bootc/centos-bootc', 'stream10', undefined),
    ],
    ['ghcr.io/bootc-dev/bootc:latest', expected('ghcr.io', 'bootc-dev/bootc', 'latest', undefined)],
    [
      'registry.redhat.io/rhel9/rhel-bootc:9.4',
      expected('registry.redhat.io', 'rhel9/rhel-bootc', '9.4', undefined),
    ],
    // Local registries: host:port, localhost, IPv4, IPv6 (the distribution grammar allows bracketed IPv6).
    ['localhost:5000/foo/bar:v1', expected('localhost:5000', 'foo/bar', 'v1', undefined)],
    ['localhost/myimage', expected('localhost', 'myimage', 'latest', undefined)],
    ['127.0.0.1:5123/test/one:v1', expected('127.0.0.1:5123', 'test/one', 'v1', undefined)],
    ['[::1]:5000/x/y:z', expected('[::1]:5000', 'x/y', 'z', undefined)],
    ['[::1]/x', expected('[::1]', 'x', 'latest', undefined)],
    ['[fe80::1:abcd]:443/a/b:c', expected('[fe80::1:abcd]:443', 'a/b', 'c', undefined)],
    [
      'my-registry.example.com:8443/team/app:2024.06.01',
      expected('my-registry.example.com:8443', 'team/app', '2024.06.01', undefined),
    ],
    // Host names are case-insensitive in the grammar; only the path must be lowercase.
    ['Quay.IO/x', expected('Quay.IO', 'x', 'latest', undefined)],
    // Digests alone, tag + digest, sha512.
    [`quay.io/x/y@sha256:${SHA256}`, expected('quay.io', 'x/y', undefined, `sha256:${SHA256}`)],
    [`quay.io/x/y:1@sha256:${SHA256}`, expected('quay.io', 'x/y', '1', `sha256:${SHA256}`)],
    [`quay.io/x/y@sha512:${SHA512}`, expected('quay.io', 'x/y', undefined, `sha512:${SHA512}`)],
    [`quay.io/x/y:v2@sha512:${SHA512}`, expected('quay.io', 'x/y', 'v2', `sha512:${SHA512}`)],
    // Tags: 128 chars, leading underscore, dots, dashes, uppercase.
    [`quay.io/x:${TAG_128}`, expected('quay.io', 'x', TAG_128, undefined)],
    ['quay.io/x:_private', expected('quay.io', 'x', '_private', undefined)],
    ['quay.io/x:V1.2-RC_3', expected('quay.io', 'x', 'V1.2-RC_3', undefined)],
    // Path separators: ".", "_", "__", one or more "-".
    ['quay.io/my_org/my__image:1', expected('quay.io', 'my_org/my__image', '1', undefined)],
    ['quay.io/a-b/c--d/e---f', expected('quay.io', 'a-b/c--d/e---f', 'latest', undefined)],
    ['quay.io/a.b.c/d0', expected('quay.io', 'a.b.c/d0', 'latest', undefined)],
    ['quay.io/a/b/c/d/e/f', expected('quay.io', 'a/b/c/d/e/f', 'latest', undefined)],
    ['quay.io/0/9', expected('quay.io', '0/9', 'latest', undefined)],
    ['1.2.3.4/x', expected('1.2.3.4', 'x', 'latest', undefined)],
    // Longest allowed names: exactly 255 chars, counted after Docker Hub normalization.
    [
      `quay.io/${'a'.repeat(MAX_NAME_LENGTH - 8)}`,
      expected('quay.io', 'a'.repeat(MAX_NAME_LENGTH - 8), 'latest', undefined),
    ],
    [
      `docker.io/${'a'.repeat(MAX_NAME_LENGTH - 18)}`,
      expected('docker.io', `library/${'a'.repeat(MAX_NAME_LENGTH - 18)}`, 'latest', undefined),
    ],
    [
      `index.docker.io/a/${'b'.repeat(MAX_NAME_LENGTH - 12)}`,
      expected('docker.io', `a/${'b'.repeat(MAX_NAME_LENGTH - 12)}`, 'latest', undefined),
    ],
  ];

  it.each(accepted)('%s', (input, want) => {
    const ref = parseReference(input);
    expect(fields(ref)).toEqual(want);
    // The canonical form is a fixed point.
    expect(parseReference(ref.canonical)).toEqual(ref);
    expect(tryParseStoredName(input)).toEqual(ref);
  });

  it('fits the longest valid reference (255-char name, 128-char tag, sha512) within MAX_REFERENCE_LENGTH', () => {
    const longest = `quay.io/${'a'.repeat(MAX_NAME_LENGTH - 8)}:${TAG_128}@sha512:${SHA512}`;
    expect(longest.length).toBeLessThanOrEqual(MAX_REFERENCE_LENGTH);
    expect(parseReference(longest).canonical).toBe(longest);
  });
});

describe('parseReference: rejected inputs', () => {
  const rejected: Array<[string, string, Reason]> = [
    ['empty string', '', 'empty'],
    // Options podman would read.
    ['--help', '--help', 'option'],
    ['-v', '-v', 'option'],
    ['lone dash', '-', 'option'],
    ['--authfile=…', '--authfile=/etc/shadow', 'option'],
    ['dash before a valid reference', '-quay.io/x/y:1', 'option'],
    // Whitespace and control characters anywhere.
    ['inner space', 'quay.io/x y', 'whitespace'],
    ['trailing newline', 'quay.io/x\n', 'whitespace'],
    ['leading space', ' quay.io/x', 'whitespace'],
    ['tab', 'quay.io/x\t', 'whitespace'],
    ['carriage return', 'quay.io/x\r', 'whitespace'],
    ['vertical tab', 'quay.io/x\v', 'whitespace'],
    ['form feed', 'quay.io/x\f', 'whitespace'],
    ['NUL byte', 'quay.io/x\u0000', 'whitespace'],
    ['ESC', 'quay.io/x\u001b[31m', 'whitespace'],
    ['DEL', 'quay.io/x\u007f', 'whitespace'],
    ['NEL (C1)', 'quay.io/x\u0085', 'whitespace'],
    ['CSI (C1)', 'quay.io/x\u009b', 'whitespace'],
    ['no-break space', 'quay.io/x\u00a0', 'whitespace'],
    ['line separator', 'quay.io/x\u2028', 'whitespace'],
    ['paragraph separator', 'quay.io/x\u2029', 'whitespace'],
    ['ideographic space', 'quay.io/x\u3000', 'whitespace'],
    ['BOM', '\ufeffquay.io/x', 'whitespace'],
    ['whitespace only', '   ', 'whitespace'],
    // Transports, never a registry reference.
    ['docker://', 'docker://quay.io/x/y:1', 'transport'],
    ['docker:// uppercase', 'DOCKER://quay.io/x', 'transport'],
    ['docker-archive', 'docker-archive:/etc/shadow', 'transport'],
    ['docker-archive mixed case', 'Docker-Archive:/etc/shadow', 'transport'],
    ['oci', 'oci:/tmp/x', 'transport'],
    ['oci with a tag', 'oci:/tmp/x:latest', 'transport'],
    ['oci-archive', 'oci-archive:/tmp/x.tar', 'transport'],
    ['dir', 'dir:/x', 'transport'],
    ['containers-storage with a store spec', 'containers-storage:[overlay@/x]img', 'transport'],
    ['containers-storage with a name', 'containers-storage:quay.io/x/y:1', 'transport'],
    ['ostree-unverified-registry', 'ostree-unverified-registry:quay.io/x', 'transport'],
    ['ostree-unverified-image', 'ostree-unverified-image:docker://quay.io/x', 'transport'],
    ['ostree-remote-image', 'ostree-remote-image:fedora:docker://quay.io/x', 'transport'],
    ['ostree-remote-registry', 'ostree-remote-registry:fedora:quay.io/x', 'transport'],
    ['ostree-image-signed', 'ostree-image-signed:docker://quay.io/x', 'transport'],
    ['ostree', 'ostree:/ostree/repo', 'transport'],
    ['registry (ostree-rs-ext)', 'registry:quay.io/x', 'transport'],
    ['docker-daemon', 'docker-daemon:x:y', 'transport'],
    ['docker-daemon short name', 'docker-daemon:alpine:latest', 'transport'],
    ['sif', 'sif:/x.sif', 'transport'],
    ['tarball', 'tarball:/x.tar', 'transport'],
    ['docker without slashes', 'docker:alpine', 'transport'],
    ['unknown transport with an absolute path', 'foo:/etc/shadow', 'transport'],
    ['unknown transport with a store spec', 'foo:[vfs@/x]img', 'transport'],
    ['a transport name as a host with a port', 'docker:5000/x/y', 'transport'],
    // Short names: podman would resolve them through search registries.
    ['bare name', 'alpine', 'not-qualified'],
    ['name and tag', 'alpine:latest', 'not-qualified'],
    ['name and digest', `alpine@sha256:${SHA256}`, 'not-qualified'],
    ['library/alpine', 'library/alpine', 'not-qualified'],
    ['org/name:tag', 'fedora/httpd:1', 'not-qualified'],
    ['three components without a host', 'a/b/c', 'not-qualified'],
    ['uppercase localhost', 'LOCALHOST/x', 'not-qualified'],
    ['localhost look-alike', 'localhostx/y', 'not-qualified'],
    ['unqualified first part with an uppercase path', 'fedora/Httpd', 'not-qualified'],
    ['empty host', '/x/y', 'not-qualified'],
    ['fullwidth solidus instead of "/"', 'quay.io\uff0fx', 'not-qualified'],
    // Malformed digests.
    ['short sha256', 'quay.io/x@sha256:abc', 'digest'],
    ['tag and short sha256', 'quay.io/x:1@sha256:abc', 'digest'],
    ['md5', `quay.io/x@md5:${'a'.repeat(32)}`, 'digest'],
    ['sha384', `quay.io/x@sha384:${'a'.repeat(96)}`, 'digest'],
    ['63 hex', `quay.io/x@sha256:${SHA256.slice(1)}`, 'digest'],
    ['65 hex', `quay.io/x@sha256:${SHA256}0`, 'digest'],
    ['uppercase hex', `quay.io/x@sha256:${SHA256.toUpperCase()}`, 'digest'],
    ['sha512 with 64 hex', `quay.io/x@sha512:${SHA256}`, 'digest'],
    ['algorithm without hex', 'quay.io/x@sha256', 'digest'],
    ['empty digest', 'quay.io/x@', 'digest'],
    ['tag and empty digest', 'quay.io/x:1@', 'digest'],
    ['non-hex digest', `quay.io/x@sha256:${'g'.repeat(64)}`, 'digest'],
    // Too long.
    ['10 kB string', 'a'.repeat(10_240), 'too-long'],
    ['just over MAX_REFERENCE_LENGTH', `quay.io/${'a'.repeat(MAX_REFERENCE_LENGTH - 7)}`, 'too-long'],
    ['name of 256 chars', `quay.io/${'a'.repeat(MAX_NAME_LENGTH - 7)}`, 'too-long'],
    ['name of 256 chars with a tag', `quay.io/${'a'.repeat(MAX_NAME_LENGTH - 7)}:1`, 'too-long'],
    // docker.io/x is docker.io/library/x: the normalized name counts, as in containers/image.
    ['Docker Hub name over 255 once normalized', `docker.io/${'a'.repeat(MAX_NAME_LENGTH - 17)}`, 'too-long'],
    // Anything else.
    ['uppercase path', 'quay.io/Fedora/fedora-bootc:42', 'syntax'],
    ['uppercase last component', 'quay.io/fedora/Fedora-Bootc', 'syntax'],
    ['uppercase path with a valid digest', `quay.io/X@sha256:${SHA256}`, 'syntax'],
    ['empty path', 'quay.io/', 'syntax'],
    ['empty path component', 'quay.io//x', 'syntax'],
    ['trailing slash', 'quay.io/x/', 'syntax'],
    ['empty tag', 'quay.io/x:', 'syntax'],
    ['tag of 129 chars', `quay.io/x:${TAG_128}a`, 'syntax'],
    ['tag starting with "-"', 'quay.io/x:-rc', 'syntax'],
    ['tag starting with "."', 'quay.io/x:.rc', 'syntax'],
    ['two tags', 'quay.io/x:y:z', 'syntax'],
    ['two digests', `quay.io/x@sha256:${SHA256}@sha256:${SHA256}`, 'syntax'],
    ['path component starting with "-"', 'quay.io/-x', 'syntax'],
    ['path component ending with "-"', 'quay.io/x-', 'syntax'],
    ['triple underscore', 'quay.io/a___b', 'syntax'],
    ['mixed separators', 'quay.io/a_.b', 'syntax'],
    ['host label ending with "-"', 'a-.io/x', 'syntax'],
    ['host starting with "."', '.quay.io/x', 'syntax'],
    ['empty host label', 'quay..io/x', 'syntax'],
    ['non-numeric port', 'quay.io:abc/x', 'syntax'],
    ['zero-width space', 'quay.io/x\u200b', 'syntax'],
    ['right-to-left override', 'quay.io/x\u202e1:gat', 'syntax'],
    ['non-ASCII path', 'quay.io/caf\u00e9', 'syntax'],
  ];

  it.each(rejected.map(([label, input, reason]) => [label, reason, input] as const))(
    '%s → %s',
    (_label, reason, input) => {
      const err = rejection(input);
      expect(err.details.reason).toBe(reason);
      expectSafeEcho(err, input);
      expect(tryParseStoredName(input)).toBeUndefined();
    },
  );

  it('rejects a non-string with reason syntax', () => {
    for (const value of [undefined, null, 42, {}, ['quay.io/x']]) {
      const err = thrown(() => parseReference(value as unknown as string));
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).name).toBe('InvalidReference');
      expect((err as StorageError).details.reason).toBe('syntax');
    }
  });
});

describe('parseReference: error messages', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['--help', /cannot start with "-"/],
    ['quay.io/x y', /whitespace or control characters/],
    ['docker-archive:/etc/shadow', /transports such as "docker-archive:" are not accepted/],
    ['alpine', /short names are not accepted/],
    ['library/alpine', /"library" is not a registry host/],
    ['quay.io/x@sha256:abc', /sha256:<64 hex> or sha512:<128 hex>/],
    ['quay.io/Fedora', /lowercase path/],
    [`quay.io/${'a'.repeat(MAX_NAME_LENGTH)}`, /longer than 255 characters/],
    ['a'.repeat(10_240), /longer than 1024 characters/],
  ];

  it.each(cases)('%j says what is wrong', (input, pattern) => {
    const err = rejection(input);
    expect(err.message).toMatch(pattern);
    expectSafeEcho(err, input);
  });

  it('echoes a short input in full, quoted', () => {
    const err = rejection('quay.io/Fedora');
    expect(err.message).toContain('"quay.io/Fedora"');
    expect(err.details.input).toBe('quay.io/Fedora');
  });

  it('echoes only the first 80 characters of a 10 kB input', () => {
    const input = `quay.io/${'b'.repeat(10_000)}`;
    const err = rejection(input);
    expect(err.details.reason).toBe('too-long');
    expect(err.details.input).toBe(`${input.slice(0, 80)}…`);
    expect(err.message).toContain(`"${input.slice(0, 80)}…"`);
    expect(err.message).not.toContain(input.slice(0, 81));
    expect(err.message.length).toBeLessThan(250);
  });

  it('does not echo a long host or transport prefix in full either', () => {
    for (const [input, reason] of [
      [`${'h'.repeat(1000)}/x`, 'not-qualified'],
      [`${'h'.repeat(1000)}/X`, 'not-qualified'],
      [`${'p'.repeat(1000)}:/etc/shadow`, 'transport'],
    ] as const) {
      const err = rejection(input);
      expect(err.details.reason).toBe(reason);
      expectSafeEcho(err, input);
      expect(err.message.length).toBeLessThan(400);
    }
  });

  it('escapes control, separator and bidi characters in the message', () => {
    for (const input of [
      'quay.io/x\u2028y',
      'quay.io/x\u0085',
      'quay.io/x\u009b31m',
      'quay.io/\u202ex',
      'a\u202e/x',
      'a\u202e:/x',
    ]) {
      const err = rejection(input);
      expectSafeEcho(err, input);
      expect(err.message).toMatch(/\\u(2028|0085|009b|202e)/);
    }
  });

  it('never cuts a surrogate pair in half when truncating', () => {
    const input = `${'a'.repeat(79)}\u{1f600}${'b'.repeat(100)}`;
    const err = rejection(input);
    expectSafeEcho(err, input);
    expect(err.details.input).toBe(`${'a'.repeat(79)}…`);
  });
});

describe('parseReference: properties', () => {
  const NUM_RUNS = 2000;

  const lowerAlnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
  const alnum = (min: number, max: number) => fc.string({ unit: lowerAlnum, minLength: min, maxLength: max });

  // Host: dotted labels (uppercase allowed) or localhost, with an optional port; plus well-known hosts.
  const label = fc
    .tuple(
      fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789'),
      fc.string({ unit: fc.constantFrom(...'abcxyz09-'), maxLength: 8 }),
      fc.constantFrom(...'abcxyz09'),
    )
    .map(([first, middle, last]) => `${first}${middle}${last}`);
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
  const domain = fc.oneof(
    fc.constantFrom(
      'docker.io',
      'index.docker.io',
      'quay.io',
      'ghcr.io',
      'registry.redhat.io',
      'localhost',
      'localhost:5000',
      '127.0.0.1:5123',
      '[::1]:5000',
      '[::1]',
    ),
    fc
      .tuple(fc.array(label, { minLength: 2, maxLength: 4 }), port)
      .map(([labels, p]) => `${labels.join('.')}${p === undefined ? '' : `:${p}`}`),
    port.map((p) => `localhost${p === undefined ? '' : `:${p}`}`),
  );
  const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
  const pathComponent = fc
    .tuple(alnum(1, 8), fc.array(fc.tuple(separator, alnum(1, 8)), { maxLength: 3 }))
    .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));
  const path = fc.oneof(
    fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
    // Long paths, to reach the 255-character name limit (with and without Docker Hub normalization).
    fc.integer({ min: 200, max: 260 }).map((n) => 'p'.repeat(n)),
  );
  const tag = fc
    .tuple(
      fc.constantFrom(...'abcXYZ019_'),
      fc.string({ unit: fc.constantFrom(...'abcXYZ019_.-'), maxLength: 127 }),
    )
    .map(([first, rest]) => first + rest);
  const hex = fc.constantFrom(...'0123456789abcdef');
  const digest = fc.oneof(
    fc.string({ unit: hex, minLength: 64, maxLength: 64 }).map((h) => `sha256:${h}`),
    fc.string({ unit: hex, minLength: 128, maxLength: 128 }).map((h) => `sha512:${h}`),
  );
  const validParts = fc.record({
    domain,
    path,
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  });
  const join = (p: { domain: string; path: string; tag: string | undefined; digest: string | undefined }) =>
    `${p.domain}/${p.path}${p.tag === undefined ? '' : `:${p.tag}`}${p.digest === undefined ? '' : `@${p.digest}`}`;
  const validReference = validParts.map(join);

  it('parses every generated valid reference as expected, and idempotently', () => {
    fc.assert(
      fc.property(validParts, (parts) => {
        const input = join(parts);
        const wantDomain = parts.domain === 'index.docker.io' ? 'docker.io' : parts.domain;
        const wantPath =
          wantDomain === 'docker.io' && !parts.path.includes('/') ? `library/${parts.path}` : parts.path;
        if (`${wantDomain}/${wantPath}`.length > MAX_NAME_LENGTH) {
          expect(rejection(input).details.reason).toBe('too-long');
          return;
        }
        const ref = parseReference(input);
        const wantTag = parts.tag === undefined && parts.digest === undefined ? 'latest' : parts.tag;
        expect(fields(ref)).toEqual(expected(wantDomain, wantPath, wantTag, parts.digest));
        const again = parseReference(ref.canonical);
        expect(again.canonical).toBe(ref.canonical);
        expect(again).toEqual(ref);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  // Inputs for the safety property: arbitrary text, near-misses built from the grammar's own characters,
  // transport prefixes, valid references with junk around or inside them.
  const grammarChars = fc.constantFrom(...'-:/@.abcdefxyz0189 \t\n_[]ABC');
  const anything = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: grammarChars, maxLength: 40 }),
    fc
      .tuple(
        fc.constantFrom(...TRANSPORT_NAMES),
        fc.constantFrom(':', '://', ':/', ':['),
        fc.string({ maxLength: 20 }),
      )
      .map(([t, sep, rest]) => t + sep + rest),
    fc
      .tuple(
        fc.constantFrom(...TRANSPORT_NAMES.flatMap((t) => [`${t}:`, `${t.toUpperCase()}:`])),
        validReference,
      )
      .map(([prefix, ref]) => prefix + ref),
    fc
      .tuple(
        fc.string({ unit: grammarChars, maxLength: 3 }),
        validReference,
        fc.string({ unit: grammarChars, maxLength: 3 }),
      )
      .map(([before, ref, after]) => before + ref + after),
    fc
      .tuple(validReference, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }))
      .map(([ref, at, insert]) => {
        const i = at % (ref.length + 1);
        return ref.slice(0, i) + insert + ref.slice(i);
      }),
    validReference,
  );

  it('only ever accepts safe text, and only ever throws InvalidReference', () => {
    let acceptedCount = 0;
    fc.assert(
      fc.property(anything, (input) => {
        let ref: ImageReference;
        try {
          ref = parseReference(input);
        } catch (err) {
          expect(err).toBeInstanceOf(StorageError);
          const storageError = err as StorageError;
          expect(storageError.name).toBe('InvalidReference');
          expect(REASONS).toContain(storageError.details.reason);
          expectSafeEcho(storageError, input);
          return;
        }
        acceptedCount++;
        for (const s of [input, ref.canonical, ref.repository, ref.nameKey ?? 'x', ref.digestKey ?? 'x']) {
          expect(s.startsWith('-')).toBe(false);
          expect(s).not.toMatch(WHITESPACE_OR_CONTROL);
          expect(startsWithTransport(s)).toBe(false);
          expect(s).toMatch(/^[\x21-\x7e]+$/);
        }
        expect(ref.repository.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
        expect(parseReference(ref.canonical).canonical).toBe(ref.canonical);
      }),
      { numRuns: NUM_RUNS },
    );
    // The property must not hold vacuously.
    expect(acceptedCount).toBeGreaterThan(NUM_RUNS / 20);
  });

  it('rejects a reference prefixed by a transport, whatever follows', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TRANSPORT_NAMES), fc.boolean(), validReference, (t, upper, ref) => {
        const input = `${upper ? t.toUpperCase() : t}:${ref}`;
        expect(rejection(input).details.reason).toBe('transport');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects any valid reference with whitespace or a control character inserted', () => {
    const bad = fc.constantFrom(
      ' ',
      '\t',
      '\n',
      '\r',
      '\v',
      '\f',
      '\u0000',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u009f',
      '\u00a0',
      '\u2028',
      '\u2029',
      '\u3000',
      '\ufeff',
    );
    fc.assert(
      fc.property(validReference, fc.nat(), bad, (ref, at, ch) => {
        const i = at % (ref.length + 1);
        const input = ref.slice(0, i) + ch + ref.slice(i);
        const err = rejection(input);
        expect(err.details.reason).toBe('whitespace');
        expectSafeEcho(err, input);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects a valid path that is not behind a registry host as not-qualified', () => {
    fc.assert(
      fc.property(
        fc.array(pathComponent, { minLength: 1, maxLength: 3 }),
        fc.option(tag, { nil: undefined }),
        (parts, t) => {
          const input = `${parts.join('/')}${t === undefined ? '' : `:${t}`}`;
          fc.pre(!startsWithTransport(input) && !parts[0]!.includes('.') && parts[0] !== 'localhost');
          expect(rejection(input).details.reason).toBe('not-qualified');
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects adversarial near-misses quickly (no catastrophic backtracking)', () => {
    const inputs = [
      `${'a-'.repeat(511)}/x`,
      `${'a.'.repeat(500)}/x!`,
      `quay.io/${'a-'.repeat(500)}!`,
      `quay.io/${'a/'.repeat(500)}`,
      `quay.io/${'a_'.repeat(500)}_`,
      `quay.io/${'a--'.repeat(300)}A`,
      `quay.io/x:${'a'.repeat(127)}@`,
      `[${':'.repeat(1000)}/x`,
      `${'1.'.repeat(500)}:/`,
    ];
    for (const input of inputs) {
      const start = performance.now();
      rejection(input);
      expect(performance.now() - start).toBeLessThan(200);
    }
  });
});

describe('parseImageTarget', () => {
  const ID = SHA256;

  it('reads a bare 64-hex string as an image ID', () => {
    expect(parseImageTarget(ID)).toEqual({ kind: 'id', id: ID });
  });

  it('reads a sha256:-prefixed 64-hex string as an image ID, without the prefix', () => {
    expect(parseImageTarget(`sha256:${ID}`)).toEqual({ kind: 'id', id: ID });
  });

  it('reads a reference as a normalized reference', () => {
    expect(parseImageTarget('docker.io/alpine')).toEqual({
      kind: 'reference',
      ref: parseReference('docker.io/library/alpine:latest'),
    });
    const target = parseImageTarget(`quay.io/fedora/fedora-bootc:42@sha256:${ID}`);
    expect(target.kind).toBe('reference');
    if (target.kind === 'reference') {
      expect(target.ref.canonical).toBe(`quay.io/fedora/fedora-bootc:42@sha256:${ID}`);
      expect(target.ref.digestKey).toBe(`quay.io/fedora/fedora-bootc@sha256:${ID}`);
    }
  });

  it.each([
    ['short hex', 'abc123'],
    ['12-hex short ID', ID.slice(0, 12)],
    ['63 hex', ID.slice(1)],
    ['65 hex', `${ID}0`],
    ['uppercase hex', ID.toUpperCase()],
    ['sha256: and 63 hex', `sha256:${ID.slice(1)}`],
    ['sha512: and 128 hex', `sha512:${SHA512}`],
    ['SHA256: prefix', `SHA256:${ID}`],
    ['ID with a trailing newline', `${ID}\n`],
    ['ID with a leading dash', `-${ID}`],
    ['empty string', ''],
  ])('does not read %s as an ID, and rejects it as a reference', (_label, input) => {
    const err = thrown(() => parseImageTarget(input));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).name).toBe('InvalidReference');
  });

  it('reads exactly the (sha256:)?<64 lowercase hex> strings as IDs', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
        (prefixed, hexId) => {
          expect(parseImageTarget(prefixed ? `sha256:${hexId}` : hexId)).toEqual({ kind: 'id', id: hexId });
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (input) => {
        let target: ReturnType<typeof parseImageTarget>;
        try {
          target = parseImageTarget(input);
        } catch (err) {
          expect(err).toBeInstanceOf(StorageError);
          expect((err as StorageError).name).toBe('InvalidReference');
          return;
        }
        if (target.kind === 'id') expect(input).toMatch(/^(?:sha256:)?[a-f0-9]{64}$/);
        else expect(target.ref.canonical).toBe(parseReference(input).canonical);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects a non-string as an InvalidReference', () => {
    const err = thrown(() => parseImageTarget(42 as unknown as string));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).details.reason).toBe('syntax');
  });
});
