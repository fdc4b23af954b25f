// What every in-house part below builds on: the error catalogue (src/errors.ts), the process runner
// (src/process/supervise.ts; execa is in the bundle but evaluated only on the first spawn) and executable lookup.
import { createError } from '../../src/errors.js';
import { findExecutable } from '../../src/process/find-executable.js';
import { runSupervised } from '../../src/process/supervise.js';

(globalThis as { keep?: unknown }).keep = [createError, runSupervised, findExecutable];
