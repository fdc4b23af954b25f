// koffi (native FFI) with libc loaded, as the sysroot lock and a Varlink peer's credentials first need it.
import { loadLibc } from '../../src/process/libc.js';

(globalThis as { ready?: Promise<unknown> }).ready = loadLibc();
