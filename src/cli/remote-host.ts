// `-H [USER@]HOST[:PORT]`: another host's system bus, reached over SSH as `systemctl -H` reaches it. The spec is
// checked here, at the command line, so that nothing of it can reach ssh as an option; then the ssh command line
// is built from its parts, never from the caller's string.

import { isIPv6 } from 'node:net';
import { InvalidArgumentError } from 'commander';

/** A checked `-H` value. */
export interface RemoteHost {
  /** As given: what error messages and the man page call the host. */
  spec: string;
  user?: string | undefined;
  /** A host name, an ssh_config alias, or an IP address (IPv6 without its brackets). */
  host: string;
  port?: number | undefined;
}

/** What runs on the other end: systemd's bridge from stdio to that host's system bus (as systemctl -H runs). */
export const REMOTE_BRIDGE = 'systemd-stdio-bridge';

/** A login name: letters, digits, `_ . -`, not starting with `-` (POSIX's portable set, as useradd allows). */
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
/** A DNS name or an ssh_config alias: the same set, not starting with `-` or `.`. */
const HOSTNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
const PORT = /^[0-9]{1,5}$/;
/** Longer than any user@host:port there is: an error message quotes the spec, so it stays short. */
const MAX_SPEC = 300;

function fail(spec: string, why: string): never {
  throw new InvalidArgumentError(`"${spec}" is not [USER@]HOST[:PORT]: ${why}`);
}

/** Parses `-H`'s value (commander calls it); a bad one is a usage error naming what is wrong. */
export function parseRemoteHost(spec: string): RemoteHost {
  if (spec.length > MAX_SPEC) {
    throw new InvalidArgumentError(`the -H value is not [USER@]HOST[:PORT]: over ${MAX_SPEC} characters`);
  }
  const at = spec.indexOf('@');
  const user = at === -1 ? undefined : spec.slice(0, at);
  let rest = at === -1 ? spec : spec.slice(at + 1);
  if (user !== undefined && !USER.test(user)) fail(spec, `"${user}" is not a user name`);
  let port: string | undefined;
  let host: string;
  if (rest.startsWith('[')) {
    // [IPv6] or [IPv6]:PORT, as ssh and systemctl write an address that has colons of its own.
    const close = rest.indexOf(']');
    if (close === -1) fail(spec, 'an IPv6 address in brackets lacks its "]"');
    host = rest.slice(1, close);
    rest = rest.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) fail(spec, `unexpected "${rest}" after "]"`);
    port = rest === '' ? undefined : rest.slice(1);
    if (!isIPv6(host)) fail(spec, `"${host}" is not an IPv6 address`);
  } else if (isIPv6(rest)) {
    host = rest;
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    port = colon === -1 ? undefined : rest.slice(colon + 1);
    if (!HOSTNAME.test(host)) fail(spec, `"${host}" is not a host name or address`);
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    fail(spec, `"${port}" is not a port (1-65535)`);
  }
  return { spec, user, host, port: port === undefined ? undefined : Number(port) };
}

/**
 * ssh's arguments for the bridge, as systemctl -H passes them: no X11 forwarding, no terminal (the D-Bus stream
 * must stay 8-bit clean), and `--` before the host. With `batch` (--no-ask-password) ssh asks for nothing.
 */
export function sshArguments(target: RemoteHost, opts: { batch: boolean }): string[] {
  return [
    '-xT',
    ...(opts.batch ? ['-o', 'BatchMode=yes'] : []),
    ...(target.port === undefined ? [] : ['-p', String(target.port)]),
    ...(target.user === undefined ? [] : ['-l', target.user]),
    '--',
    target.host,
    REMOTE_BRIDGE,
  ];
}
