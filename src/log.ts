// Logging: pino JSON lines on stdout; under journald (JOURNAL_STREAM names our stdout) each line becomes
// `<priority>message {fields}` so the journal records real priorities.

import { fstatSync, writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { escapeControls } from './errors.js';

/** pino level → syslog priority. */
const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/** Keys whose values must never reach a log line, whatever a caller puts in a log object. */
const REDACT = ['auth', 'auths', 'password', 'authContent', '*.auth', '*.password', 'env.REGISTRY_AUTH_FILE'];

/** True when systemd connected our stdout to the journal. */
export function isJournalStream(env: NodeJS.ProcessEnv = process.env): boolean {
  const js = env.JOURNAL_STREAM;
  if (!js) return false;
  try {
    const st = fstatSync(1);
    const [dev, ino] = js.split(':');
    return String(st.dev) === dev && String(st.ino) === ino;
  } catch {
    return false;
  }
}

/** Formats one pino JSON line for journald's stdout stream: `<prio>msg {rest}`. */
export function formatJournalLine(json: string): string {
  const obj = JSON.parse(json) as Record<string, unknown>;
  const { level, msg, time: _t, pid: _p, hostname: _h, ...rest } = obj;
  const prio = PRIORITY[Number(level)] ?? 6;
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `<${prio}>${escapeControls(String(msg ?? ''))}${extra}\n`;
}

/** Creates the daemon's logger. */
export function createLogger(opts: { level?: string; journal?: boolean } = {}): Logger {
  const base = { level: opts.level ?? process.env.BOOTC_STORAGED_LOG_LEVEL ?? 'info', redact: REDACT };
  // Written synchronously, as the journal's lines are: nothing is buffered to lose at exit or crash, and pino
  // needs no exit hook (nor worker_threads to ask whether it could have one: scripts/bundle-options.mjs).
  if (!(opts.journal ?? isJournalStream())) return pino(base, pino.destination({ fd: 1, sync: true }));
  return pino(base, {
    write(line: string) {
      writeSync(1, formatJournalLine(line));
    },
  });
}
