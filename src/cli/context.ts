// What every subcommand gets: the bus connection, the global options and where to write.

import type { StorageClient } from './bus-client.js';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CommandContext {
  client: StorageClient;
  /** --no-ask-password was given. */
  noAskPassword: boolean;
  stdout: Output;
  stderr: Output;
}

/** Machine-readable output: one JSON document, two-space indented, newline-terminated. */
export function writeJson(out: Output, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}
