// ostree-ext's ref escaping, undone: the daemon's unescaping (src/ostree/pending-updates.ts) against the
// test helper's independent encoder, on the kinds of names bootc stores (a transport, a registry with a port).

import { describe, expect, it } from 'vitest';
import { unescapeRefName } from '../../src/ostree/pending-updates.js';
import { escapeForRef } from '../helpers/ostree-sysroot.js';

describe('unescapeRefName', () => {
  it('reads the documented example', () => {
    expect(unescapeRefName('registry_3A_quay_2E_io/coreos/fedora_3A_latest')).toBe(
      'registry:quay.io/coreos/fedora:latest',
    );
  });

  it.each([
    'registry:quay.io/fedora/fedora-bootc:42',
    'ostree-unverified-registry:127.0.0.1:5000/a_b/c:1',
    'docker://quay.io/exampleos/blah:latest',
    'oci-archive:/path/to/foo.ociarchive',
    'registry:localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    '/foo//bar/',
  ])('round-trips %s', (name) => {
    const escaped = escapeForRef(name);
    expect(escaped).toMatch(/^[A-Za-z0-9/_-]+$/);
    expect(escaped).not.toContain('//');
    expect(unescapeRefName(escaped)).toBe(name);
  });

  it('refuses what no escaping produces', () => {
    expect(() => unescapeRefName('a:b')).toThrow(/invalid character/);
    expect(() => unescapeRefName('a_3A')).toThrow(/not closed/);
  });
});
