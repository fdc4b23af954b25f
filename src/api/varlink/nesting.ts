// How deeply a message nests, found before it is parsed: JSON.parse of deeply nested arrays is 15–25× slower
// than of flat JSON of the same size (a 1 MiB message held the event loop ~0.5 s), so such a message is refused
// after one cheap pass over its bytes and never parsed.

/** The deepest nesting of arrays and objects a message may have (parameters included). */
export const MAX_MESSAGE_NESTING = 64;

/** Whether JSON text nests arrays or objects deeper than `limit` (strings and their escapes are skipped). */
export function nestsDeeperThan(raw: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c)
        i += 1; // a backslash: the next byte is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return false;
}
