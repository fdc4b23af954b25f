// sd_notify without a native socket: Node has no AF_UNIX datagrams, so spawn systemd-notify, which systemd
// accepts from a root service under the default NotifyAccess=main (it sends with our pid).

import { runSupervised } from './process/supervise.js';

/** Sends a notification (READY=1, STOPPING=1, STATUS=…, WATCHDOG=1) when systemd asked for them. */
export function notifySystemd(...assignments: string[]): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve();
  const args = [`--pid=${process.pid}`];
  for (const a of assignments) {
    if (a === 'READY=1') args.push('--ready');
    else if (a.startsWith('STATUS=')) args.push(`--status=${a.slice(7)}`);
    else args.push(a);
  }
  // Best effort: a missing or failing systemd-notify is not the daemon's failure.
  return runSupervised('systemd-notify', args).then(() => undefined);
}

/** Pings the watchdog at half the interval systemd set; returns a stop function. */
export function startWatchdog(): () => void {
  const usec = Number(process.env.WATCHDOG_USEC ?? 0);
  if (!process.env.NOTIFY_SOCKET || !(usec > 0)) return () => undefined;
  const timer = setInterval(() => void notifySystemd('WATCHDOG=1'), Math.max(1000, usec / 2000));
  timer.unref();
  return () => clearInterval(timer);
}
