// `-H [USER@]HOST[:PORT]`: what is accepted, what ssh is given (never anything it could read as an option), and
// how ssh's own words about a failure become the CLI's message and exit status 10.

import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { parseRemoteHost, sshArguments } from '../../src/cli/remote-host.js';
import { describeSshFailure } from '../../src/cli/ssh-failure.js';
import type { SupervisedResult } from '../../src/process/supervise.js';

describe('parseRemoteHost', () => {
  it('takes a host, a user, a port, an alias and IPv6 addresses', () => {
    expect(parseRemoteHost('web1')).toEqual({ spec: 'web1', user: undefined, host: 'web1', port: undefined });
    expect(parseRemoteHost('admin@web1.example.com:2222')).toMatchObject({
      user: 'admin',
      host: 'web1.example.com',
      port: 2222,
    });
    expect(parseRemoteHost('my_alias')).toMatchObject({ host: 'my_alias' });
    expect(parseRemoteHost('root@[::1]:22')).toMatchObject({ user: 'root', host: '::1', port: 22 });
    expect(parseRemoteHost('fe80::1')).toMatchObject({ host: 'fe80::1', port: undefined });
    expect(parseRemoteHost('[2001:db8::5]')).toMatchObject({ host: '2001:db8::5', port: undefined });
    // A zone index stays part of the host argument after "--"; ssh does not expand it.
    expect(parseRemoteHost('[fe80::1%eth0]:22')).toMatchObject({ host: 'fe80::1%eth0', port: 22 });
  });

  it('refuses what ssh could read as an option, and malformed parts, naming the part', () => {
    const bad: [string, RegExp][] = [
      ['-oProxyCommand=sh', /"-oProxyCommand=sh" is not a host name/],
      ['root@-p22', /"-p22" is not a host name/],
      ['-l@host', /"-l" is not a user name/],
      ['a b', /not a host name/],
      ['', /not a host name/],
      ['host:', /"" is not a port/],
      ['host:0', /"0" is not a port/],
      ['host:65536', /"65536" is not a port/],
      ['host:22x', /"22x" is not a port/],
      ['[::1', /lacks its "\]"/],
      ['[::1]x', /unexpected "x"/],
      ['[web1]:22', /"web1" is not an IPv6 address/],
      ['a@b@c', /"b@c" is not a host name/],
      ['.hidden', /not a host name/],
      [`root@${'a'.repeat(300)}`, /over 300 characters/],
    ];
    for (const [spec, why] of bad) {
      expect(() => parseRemoteHost(spec), spec).toThrow(/not \[USER@\]HOST\[:PORT\]/);
      expect(() => parseRemoteHost(spec), spec).toThrow(why);
    }
  });
});

describe('sshArguments', () => {
  it('ends the options before the host and runs the bridge, as systemctl -H does', () => {
    expect(sshArguments(parseRemoteHost('web1'), { batch: false })).toEqual([
      '-xT',
      '--',
      'web1',
      'systemd-stdio-bridge',
    ]);
    expect(sshArguments(parseRemoteHost('admin@[::1]:2222'), { batch: true })).toEqual([
      '-xT',
      '-o',
      'BatchMode=yes',
      '-p',
      '2222',
      '-l',
      'admin',
      '--',
      '::1',
      'systemd-stdio-bridge',
    ]);
  });
});

describe('describeSshFailure', () => {
  const ended = (exitCode: number | null, stderrTail: string, extra: Partial<SupervisedResult> = {}) =>
    describeSshFailure({ exitCode, signal: null, stdout: '', stderrTail, argv: ['ssh'], ...extra }, 'ssh');

  it("names each of ssh's failures, with ssh's last line as the detail", () => {
    const cases: [number, string, RegExp][] = [
      [
        255,
        'No ED25519 host key is known for [h]:22 and you have requested strict checking.\r\nHost key verification failed.\r\n',
        /^the host's key is not known .* \(ssh: Host key verification failed\.\)$/,
      ],
      [
        255,
        '@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\nHost key verification failed.\r\n',
        /^the host's key is not known or has changed/,
      ],
      [
        255,
        'root@h: Permission denied (publickey).\r\n',
        /^the SSH login was refused \(ssh: root@h: Permission denied \(publickey\)\.\)$/,
      ],
      [
        255,
        'ssh: Could not resolve hostname nope: Name or service not known\r\n',
        /^unknown host name \(ssh: Could not resolve hostname nope/,
      ],
      [
        255,
        'ssh: connect to host h port 22: Connection refused\r\n',
        /^cannot connect to the SSH server \(ssh: connect to host h port 22: Connection refused\)$/,
      ],
      [
        127,
        'sh: 1: systemd-stdio-bridge: not found\n',
        /^the host has no systemd-stdio-bridge .*\(ssh: sh: 1: systemd-stdio-bridge: not found\)$/,
      ],
      [127, '', /^the host has no systemd-stdio-bridge .*\(ssh: exit status 127\)$/],
      [
        1,
        'Failed to start bus client: No such file or directory\n',
        /^systemd-stdio-bridge on the host cannot reach its system bus/,
      ],
      [1, '', /^systemd-stdio-bridge on the host cannot reach its system bus \(ssh: exit status 1\)$/],
      [255, 'something new\n', /^ssh ended before the bus connection was made \(ssh: something new\)$/],
      // The exit status decides whose words they are: these are the bridge's and its shell's, not ssh's.
      [
        1,
        'Failed to start bus client: Connection refused\n',
        /^systemd-stdio-bridge on the host cannot reach/,
      ],
      [126, 'sh: 1: systemd-stdio-bridge: Permission denied\n', /^the host has no systemd-stdio-bridge/],
      [255, 'Connection closed by 10.0.0.1 port 22\r\n', /^the SSH server closed the connection/],
    ];
    for (const [code, stderr, message] of cases) {
      const err = ended(code, stderr);
      expect(err.message, stderr).toMatch(message);
      expect(err.exitCode).toBe(EXIT.REMOTE);
    }
  });

  it('says when ssh was killed, and keeps escape sequences out of the message', () => {
    const err = ended(null, 'odd \u001b[31mred\u001b[0m\n', { signal: 'SIGTERM' });
    expect(err.message).toBe('ssh ended before the bus connection was made (ssh: odd [31mred [0m)');
    expect(ended(null, '', { signal: 'SIGKILL' }).message).toMatch(/\(ssh: killed by SIGKILL\)$/);
  });

  it('says when ssh cannot be run at all', () => {
    const spawnError = Object.assign(new Error('spawn /x/ssh ENOENT'), { code: 'ENOENT' });
    const err = ended(null, '', { spawnError });
    expect(err.message).toBe('cannot run ssh: spawn /x/ssh ENOENT');
    expect(err.exitCode).toBe(EXIT.REMOTE);
  });
});
