// The daemon's command line (src/daemon-options.ts): the same options, defaults and refusals it had with
// commander.

import { expect, it } from 'vitest';
import { OptionError, parseBytes, parseDaemonArgs, renderHelp } from '../../src/daemon-options.js';

it('applies the defaults', () => {
  expect(parseDaemonArgs([])).toEqual({
    sysroot: '/sysroot',
    run: '/run',
    stallTimeout: 300,
    pullTimeout: 21600,
    lockTimeout: 300,
    jobRetention: 60,
    pullRetries: 3,
    spaceReserve: 1024 ** 3,
    layout: 'auto',
    pullWith: 'auto',
    progressTotals: true,
  });
});

it('parses every option, in both --name value and --name=value forms', () => {
  const o = parseDaemonArgs([
    '--sysroot',
    '/s',
    '--run=/r',
    '--auth-root',
    '/',
    '--idle-timeout',
    '1.5',
    '--stall-timeout',
    '0',
    '--pull-timeout',
    '10',
    '--lock-timeout',
    '7',
    '--job-retention',
    '2',
    '--pull-retries',
    '0',
    '--space-reserve',
    '512M',
    '--layout',
    'composefs',
    '--pull-with=podman',
    '--no-progress-totals',
    '--self-check',
    '--varlink-socket',
    '/tmp/v',
  ]);
  expect(o).toEqual({
    sysroot: '/s',
    run: '/r',
    authRoot: '/',
    idleTimeout: 1.5,
    stallTimeout: 0,
    pullTimeout: 10,
    lockTimeout: 7,
    jobRetention: 2,
    pullRetries: 0,
    spaceReserve: 512 * 1024 ** 2,
    layout: 'composefs',
    pullWith: 'podman',
    progressTotals: false,
    selfCheck: true,
    varlinkSocket: '/tmp/v',
  });
});

it('refuses bad values, unknown options and positionals with an OptionError naming the option', () => {
  for (const argv of [
    ['--idle-timeout', 'soon'],
    ['--idle-timeout=-1'],
    ['--pull-retries', '1.5'],
    ['--space-reserve', '1X'],
    ['--layout', 'btrfs'],
    ['--pull-with', 'docker'],
    ['--bogus'],
    ['extra'],
    ['--sysroot'],
  ]) {
    expect(() => parseDaemonArgs(argv), argv.join(' ')).toThrow(OptionError);
  }
  expect(() => parseDaemonArgs(['--layout', 'btrfs'])).toThrow(/--layout.*auto, ostree, composefs/);
  expect(() => parseDaemonArgs(['--pull-with', 'docker'])).toThrow(/--pull-with.*auto, podman/);
});

it('answers --help and --version (and their short forms)', () => {
  expect(parseDaemonArgs(['--help'])).toBe('help');
  expect(parseDaemonArgs(['-h'])).toBe('help');
  expect(parseDaemonArgs(['--version'])).toBe('version');
  expect(parseDaemonArgs(['-V'])).toBe('version');
  const help = renderHelp();
  for (const name of [
    '--sysroot <dir>',
    '--no-progress-totals',
    '--varlink-socket <path>',
    '--space-reserve',
  ])
    expect(help).toContain(name);
});

it('reads sizes with binary suffixes', () => {
  expect(parseBytes('0')).toBe(0);
  expect(parseBytes('1G')).toBe(1024 ** 3);
  expect(parseBytes('2KiB')).toBe(2048);
  expect(parseBytes(' 3t ')).toBe(3 * 1024 ** 4);
});
