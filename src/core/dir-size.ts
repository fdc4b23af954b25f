import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Total bytes of regular files below `dir` (0 when it is gone); used to watch a pull's staged blobs grow. */
export async function measureDirSize(dir: string): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await measureDirSize(p);
    else if (e.isFile())
      total += await lstat(p).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}
