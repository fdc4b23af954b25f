// SIGUSR1 must not open Node's inspector: on a root daemon, anyone who can connect to 127.0.0.1:9229 could run
// code as root. A bare node opens it on SIGUSR1 (the control below shows it); the daemon must not.

import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callStorage } from '../helpers/daemon.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

/** TCP ports a process listens on (ss -ltnp). */
function listeningPorts(pid: number): string[] {
  return execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.split(/\s+/)[3] ?? '');
}

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => s?.stop());

it('a bare node opens the inspector on SIGUSR1 (the control)', async () => {
  const node = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    process.kill(node.pid!, 'SIGUSR1');
    const ports = await waitFor(
      () => {
        const p = listeningPorts(node.pid!);
        return p.length > 0 ? p : undefined;
      },
      'the inspector to listen',
      5000,
      50,
    );
    expect(ports?.join(' ')).toMatch(/:9229/);
  } finally {
    node.kill('SIGKILL');
  }
});

it('the daemon ignores SIGUSR1: no TCP listener appears, and it keeps serving', async () => {
  const pid = s.daemon.proc.pid!;
  expect(listeningPorts(pid)).toEqual([]);
  for (let i = 0; i < 3; i++) process.kill(pid, 'SIGUSR1');
  await new Promise((r) => setTimeout(r, 1500)); // the control above listens within a few ms
  expect(listeningPorts(pid)).toEqual([]);
  expect(await callStorage(s.client, 'List')).toEqual([[]]);
  expect(s.daemon.output()).toMatch(/SIGUSR1 ignored/);
});
