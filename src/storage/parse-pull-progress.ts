// podman 4.3's CLI prints, without a TTY, one stderr line as each blob starts copying; no byte counts.
// This turns those lines into progress events.

export type PullPhase =
  | 'resolving'
  | 'copying-blob'
  | 'copying-config'
  | 'writing-manifest'
  | 'storing-signatures';

export interface PullProgressEvent {
  phase: PullPhase;
  /** Digest of the blob or config being copied, when the line names one. */
  digest?: string;
}

const PATTERNS: [RegExp, PullPhase][] = [
  [/^Trying to pull /, 'resolving'],
  [/^Copying blob (?:(?<digest>sha256:[a-f0-9]{64}))?/, 'copying-blob'],
  [/^Copying config (?:(?<digest>sha256:[a-f0-9]{64}))?/, 'copying-config'],
  [/^Writing manifest to image destination/, 'writing-manifest'],
  [/^Storing signatures/, 'storing-signatures'],
];

/** Maps one stderr line of `podman pull` to a progress event, or undefined for other lines. */
export function parsePullProgressLine(line: string): PullProgressEvent | undefined {
  const trimmed = line.trim();
  for (const [re, phase] of PATTERNS) {
    const m = re.exec(trimmed);
    if (!m) continue;
    const digest = m.groups?.digest;
    return digest === undefined ? { phase } : { phase, digest };
  }
  return undefined;
}
