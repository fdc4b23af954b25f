// sd_notify(3) done natively: one datagram to $NOTIFY_SOCKET through libc (koffi; Node has no AF_UNIX
// datagrams). Sent from the daemon's own pid, as NotifyAccess=main requires, and with no child process, so an
// idle daemon never loads the process runner (execa) just to say READY=1 or ping its watchdog.

import { loadLibc } from './process/libc.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40; // a wedged manager must not block the event loop: the datagram is dropped instead
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_OFFSET = 2; // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }
const SUN_PATH_MAX = 108;

interface NotifyCalls {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  close(fd: number): number;
}
let calls: Promise<NotifyCalls> | undefined;

function bindCalls(): Promise<NotifyCalls> {
  calls ??= loadLibc().then(({ libc }) => ({
    socket: libc.func('int socket(int, int, int)'),
    sendto: libc.func('long sendto(int, const uint8_t *buf, size_t, int, const uint8_t *addr, uint32_t)'),
    close: libc.func('int close(int)'),
  }));
  calls.catch(() => {
    calls = undefined;
  });
  return calls;
}

/** $NOTIFY_SOCKET as a sockaddr_un: a path, or an abstract name when it starts with '@' (as sd_notify reads it). */
export function notifyAddress(socket: string): Buffer | undefined {
  const abstract = socket.startsWith('@');
  if (!abstract && !socket.startsWith('/')) return undefined; // vsock and other families: not for a system daemon
  const path = Buffer.from(abstract ? `\0${socket.slice(1)}` : socket);
  if (path.length >= SUN_PATH_MAX) return undefined;
  // A path address carries its terminating NUL; an abstract one is exactly as long as its name.
  const addr = Buffer.alloc(SUN_PATH_OFFSET + path.length + (abstract ? 0 : 1));
  addr.writeUInt16LE(AF_UNIX, 0);
  path.copy(addr, SUN_PATH_OFFSET);
  return addr;
}

/** Sends a notification (READY=1, STOPPING=1, STATUS=…, WATCHDOG=1) when systemd asked for them. */
export async function notifySystemd(...assignments: string[]): Promise<void> {
  const socket = process.env.NOTIFY_SOCKET;
  const addr = socket ? notifyAddress(socket) : undefined;
  if (!addr) return;
  // Best effort, as sd_notify is: a failed notification is not the daemon's failure (systemd times it out).
  const c = await bindCalls().catch(() => undefined);
  if (!c) return;
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  try {
    const message = Buffer.from(assignments.map((a) => a.replace(/\n/g, ' ')).join('\n'));
    c.sendto(fd, message, message.length, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addr.length);
  } finally {
    c.close(fd);
  }
}

/** Pings the watchdog at half the interval systemd set; returns a stop function. */
export function startWatchdog(): () => void {
  const usec = Number(process.env.WATCHDOG_USEC ?? 0);
  if (!process.env.NOTIFY_SOCKET || !(usec > 0)) return () => undefined;
  const timer = setInterval(() => void notifySystemd('WATCHDOG=1'), Math.max(1000, usec / 2000));
  timer.unref();
  return () => clearInterval(timer);
}
