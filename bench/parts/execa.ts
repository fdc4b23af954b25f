// The process runner after its first child: execa loaded (src/process/execa-loader.ts) and one child run through
// it, as the daemon is after its first podman, skopeo or other helper.
import { runSupervised } from '../../src/process/supervise.js';

(globalThis as { ready?: Promise<unknown> }).ready = runSupervised('/bin/true', [], { captureStdout: true });
