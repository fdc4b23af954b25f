// Where a program named without a path would be run from: the CLI checks before it starts one, so that a
// missing program is said plainly rather than as whatever the shell or execa would make of it.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The executable `name` resolves to ($PATH for a bare name, as is for a path); undefined when there is none. */
export function findProgram(name: string): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/bin:/bin')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
