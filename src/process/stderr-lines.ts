// A supervised child's stderr, read through execa's line iteration: the tail the result keeps and each
// non-empty line for the caller's callback (podman's and skopeo's progress), as it arrives.

import type { Child } from './execa-loader.js';

/**
 * Reads `sub`'s stderr to its end (or until the runner cuts the pipe); resolves with the last `tailChars`
 * characters, exactly as written. Each line goes to `onLine` without its '\n'; the last one even without it.
 */
export async function readStderr(
  sub: Child,
  tailChars: number,
  onLine: ((line: string) => void) | undefined,
): Promise<string> {
  let tail = '';
  try {
    // preserveNewlines: the tail keeps the text as written (blank lines, a last line without '\n').
    for await (const line of sub.iterable({ from: 'stderr', binary: false, preserveNewlines: true })) {
      tail = (tail + line).slice(-tailChars);
      const text = line.endsWith('\n') ? line.slice(0, -1) : line;
      if (text.length > 0 && onLine) callBack(onLine, text);
    }
  } catch {
    // A read error on the pipe ends the reading; what came before is kept.
  }
  return tail;
}

/** A callback that throws is the caller's bug: it surfaces as any event listener's would, and reading goes on. */
function callBack(onLine: (line: string) => void, text: string): void {
  try {
    onLine(text);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
