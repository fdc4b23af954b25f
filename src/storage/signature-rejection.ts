// A pull the host's signature policy refused, told apart from every other pull failure: containers/image (in
// podman and skopeo alike) words it "Source image rejected: <the policy's reason>" (no signature, a signature by
// another key, one that does not match the image). Such a pull is final, never retried, and named for what it is.

/** The policy's reason when the failure text is a signature-policy rejection, else undefined. */
export function policyRejectionOf(message: string): string | undefined {
  const m = /Source image rejected: ([^\n]+)/.exec(message);
  return m?.[1]?.trim().replace(/["\s]+$/, '') || undefined;
}
