// Starts polkit's text agent for this process, as systemctl does, so that an action that needs a password can
// ask for it on the terminal. Only when interaction is allowed, stdin and stderr are terminals, the caller
// is not root (polkit always authorizes root) and pkttyagent is installed.

import { findExecutable } from '../process/find-executable.js';
import { startSupervised } from '../process/supervise.js';

const AGENT_READY_TIMEOUT_MS = 5_000;

/** Starts the agent when it can help; resolves once it is registered. Returns a stop function. */
export async function startPolkitAgent(): Promise<() => void> {
  const none = () => undefined;
  if (!process.stdin.isTTY || !process.stderr.isTTY || process.getuid?.() === 0) return none;
  const agent = findExecutable('pkttyagent');
  if (!agent) return none;
  // It prompts on our terminal, so it stays in our session and process group (`terminal`).
  const child = startSupervised(agent, ['--notify-fd', '3', '--fallback', '--process', String(process.pid)], {
    terminal: true,
    fds: { 3: 'pipe' },
  });
  // The pid is known once execa, loaded on the first spawn, has started it: wait for that, not just the call.
  if ((await child.started) === undefined) return none;
  const notify = child.stream(3);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, AGENT_READY_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    // The agent closes the fd once it is registered (or exits if it cannot register).
    notify?.on('close', done);
    notify?.on('end', done);
    notify?.resume();
    void child.result.then(done);
    if (!notify) done();
  });
  const stop = () => child.kill('SIGTERM');
  process.once('exit', stop);
  return stop;
}
