// Text from outside (a registry's error message, via podman) must never break a D-Bus string or forge a
// journal entry.

import { describe, expect, it } from 'vitest';
import { escapeControls } from '../../src/errors.js';
import { formatJournalLine } from '../../src/log.js';
import { lastLine } from '../../src/storage/run-in-store.js';

describe('escapeControls', () => {
  it('escapes NUL, line breaks and other control characters, and keeps ordinary text', () => {
    expect(escapeControls('manifest unknown: tag v1')).toBe('manifest unknown: tag v1');
    expect(escapeControls('a\u0000b')).toBe('a\\u0000b');
    expect(escapeControls('a\r\n<0>forged')).toBe('a\\u000d\\u000a<0>forged');
    expect(escapeControls('x\u2028y\u0085z')).toBe('x\\u2028y\\u0085z');
    expect(escapeControls('é ✓')).toBe('é ✓');
  });

  it('is applied to podman error lines', () => {
    expect(lastLine('Trying to pull x...\nError: reading manifest: x\u0000y\n')).toBe(
      'reading manifest: x\\u0000y',
    );
  });

  it('keeps a journal line one line with its own priority', () => {
    const line = formatJournalLine(
      JSON.stringify({ level: 50, msg: 'pull failed: x\u0000<0>forged\nentry', job: 3 }),
    );
    expect(line).toBe('<3>pull failed: x\\u0000<0>forged\\u000aentry {"job":3}\n');
    expect(line.split('\n')).toHaveLength(2);
  });
});
