// The one place the daemon gets zod from: zod/mini, zod's functional API, with English messages.
// Why: classic zod builds every method of every schema class when it loads (+4.3 MiB of idle RSS, measured by
// bench/memory.ts, "what each part costs"); zod/mini's functions are separate, so the bundle keeps only those
// named here. Import it as a namespace (`import * as z`): esbuild then still drops what no one uses.
// zod/mini configures no locale; without the English one every issue would read "Invalid input".
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export type { infer, ZodMiniTuple, ZodMiniType } from 'zod/mini';
export {
  array,
  boolean,
  int,
  maximum,
  maxLength,
  nonnegative,
  nullish,
  number,
  object,
  optional,
  pipe,
  record,
  regex,
  string,
  transform,
  tuple,
} from 'zod/mini';
