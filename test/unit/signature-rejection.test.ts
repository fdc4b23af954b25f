// How a signature-policy refusal is told from every other pull failure, in both programs' wording.

import { describe, expect, it } from 'vitest';
import { policyRejectionOf } from '../../src/storage/signature-rejection.js';

describe('policyRejectionOf', () => {
  it("reads podman's and skopeo's wording of containers/image's refusal", () => {
    expect(
      policyRejectionOf(
        'Trying to pull 127.0.0.1:5000/x:1...\nError: Source image rejected: A signature was required, but no signature exists',
      ),
    ).toBe('A signature was required, but no signature exists');
    // skopeo's fatal line, as copy-pull.ts's copierMessage unescapes it.
    expect(
      policyRejectionOf(
        'Source image rejected: Invalid GPG signature: gpgme.Signature{Summary:128, Status:"x"}',
      ),
    ).toBe('Invalid GPG signature: gpgme.Signature{Summary:128, Status:"x"}');
  });

  it('is undefined for any other failure', () => {
    expect(policyRejectionOf('Error: initializing source docker://x: manifest unknown')).toBeUndefined();
    expect(policyRejectionOf('')).toBeUndefined();
  });
});
