// Issue #14, item 1, reproduced with real components in a booted system: an ordinary user in a real logind
// session (PAM "login", class user, type tty, active) starts many `bootc-storagectl pull`s under `script`, each
// with its own bus name and its own pkttyagent showing a password prompt that nobody answers. While they hang,
// root's Pull/Remove and another user's List/Exists must still be answered at once, and only the flooding user
// gets Busy, for its own excess. Before the fix the caps counted bus names (4 per name, 64 in all), so 64 such
// prompts made every interactive call Busy: root's, and every busctl read (busctl allows interaction by default).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootContainer,
  type Container,
  call,
  type ExecResult,
  type LoginSession,
  loginSessions,
  onPlatform,
  PLATFORM,
} from './lib/container.js';

const FLOODER = 'flooder';
const READER = 'reader';
/** The old total cap on pending dialogs (src/authz/polkit.ts before the fix); the flood goes past it. */
const OLD_DIALOGS_TOTAL = 64;
const PULLS = OLD_DIALOGS_TOTAL + 16;
/** Dialogs one uid may have pending now (POLKIT_LIMITS.dialogsPerUid). */
const DIALOGS_PER_UID = 4;
/** The CLI's exit code for Busy (src/cli/exit-codes.ts). */
const EXIT_BUSY = 6;
/** "Answered promptly": the calls below take ~20 ms; this leaves room for a slow machine, not for waiting. */
const PROMPT_MS = 2_000;
const FLOOD_DIR = `/home/${FLOODER}/flood`;
/** Never contacted: authorization comes first, and nobody authorizes. */
const REF = '127.0.0.1:9/flood/image';
/**
 * Run by the flooder's session: one pull every 100 ms (each CLI first makes a quick read call; staggering keeps
 * those from colliding, so the old code really reaches 64 pending prompts). Each pull's terminal session goes to
 * N.log (`script -f` flushes as it goes), its exit code to N.rc once it ends.
 */
const FLOOD_SCRIPT = `
cd ${FLOOD_DIR}
i=0
while [ $i -lt ${PULLS} ]; do
  i=$((i + 1))
  (script -qfec "bootc-storagectl pull ${REF}:$i" $i.log >/dev/null 2>&1; echo $? >$i.rc) &
  sleep 0.1
done
wait
`;
let c: Container;

function log(msg: string) {
  process.stderr.write(`[polkit-flood] ${msg}\n`);
}

/** A busctl call to org.bootc.Storage that allows interactive authorization, timed. */
async function busctl(method: string, args: string[], user?: string): Promise<ExecResult & { ms: number }> {
  const started = Date.now();
  const r = await c.exec(
    [
      'busctl',
      '--system',
      '--json=short',
      '--timeout=30',
      '--allow-interactive-authorization=yes',
      'call',
      'org.bootc.Storage',
      '/org/bootc/Storage',
      'org.bootc.Storage',
      method,
      ...args,
    ],
    user ? { user } : {},
  );
  return { ...r, ms: Date.now() - started };
}

/** Pulls waiting at a password prompt, and the exit codes of those that ended. */
async function floodState(): Promise<{ prompts: number; codes: number[] }> {
  const out = await c.run([
    'sh',
    '-c',
    `cd ${FLOOD_DIR} && echo "$(grep -l 'Password:' *.log 2>/dev/null | wc -l)" && cat *.rc 2>/dev/null || true`,
  ]);
  const [prompts = '0', ...codes] = out.trim().split('\n');
  return { prompts: Number(prompts), codes: codes.filter(Boolean).map(Number) };
}

beforeAll(async () => {
  c = await bootContainer('polkit-flood');
  for (const user of [FLOODER, READER]) await c.run(['useradd', '--create-home', user]);
  await c.run(['install', '-d', '-o', FLOODER, '-g', FLOODER, FLOOD_DIR]);
  await call(c, 'List'); // D-Bus-activates the daemon before the flood
});

afterAll(async () => {
  await c?.stop();
});

describe(onPlatform('a dialog flood from one user in a real session'), () => {
  let session = '';

  it('runs in a real, active logind session, where polkit asks that user for a password', async () => {
    // A PAM "login" session opened by systemd for a transient service: pam_systemd registers it with logind
    // and moves the service into session-N.scope, as login(1) or sshd would.
    await c.run([
      'systemd-run',
      `--uid=${FLOODER}`,
      '-p',
      'PAMName=login',
      '-E',
      'XDG_SESSION_CLASS=user',
      '-E',
      'XDG_SESSION_TYPE=tty',
      '--unit=flood-session',
      '--',
      'sh',
      '-c',
      FLOOD_SCRIPT,
    ]);
    // The flooder's sessions, from loginctl's JSON. systemd 257 also registers the user's service manager
    // (user@UID.service, which logind starts for the first session) as a session of class "manager"; 252
    // does not. Wait until logind has them all.
    const want = PLATFORM.systemd >= 257 ? ['manager', 'user'] : ['user'];
    let classes: string[] = [];
    let sessions: LoginSession[] = [];
    for (const deadline = Date.now() + 30_000; ; ) {
      sessions = (await loginSessions(c)).filter((s) => s.user === FLOODER);
      classes = sessions.map((s) => s.class).sort();
      if (classes.length >= want.length || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(classes, JSON.stringify(sessions)).toEqual(want);
    session = sessions.find((s) => s.class === 'user')!.session;
    const props = await c.run([
      'loginctl',
      'show-session',
      session,
      '-p',
      'Name',
      '-p',
      'Class',
      '-p',
      'Type',
      '-p',
      'Active',
      '-p',
      'Remote',
      '-p',
      'Service',
    ]);
    expect(props.trim().split('\n').sort()).toEqual([
      'Active=yes',
      'Class=user',
      `Name=${FLOODER}`,
      'Remote=no',
      'Service=login',
      'Type=tty',
    ]);

    // Wait until every pull is either at its prompt or has ended, and that stays so.
    const deadline = Date.now() + 180_000;
    let state = await floodState();
    for (let stable = 0; stable < 3; ) {
      await new Promise((r) => setTimeout(r, 1_000));
      const next = await floodState();
      const done = next.prompts + next.codes.length === PULLS;
      stable = done && next.prompts === state.prompts ? stable + 1 : 0;
      state = next;
      if (Date.now() > deadline) throw new Error(`the flood did not settle: ${JSON.stringify(state)}`);
    }
    log(`${PULLS} pulls from one session: ${state.prompts} at a prompt, ${state.codes.length} ended`);

    // polkit asked: the CLI's pkttyagent (in the session's scope) shows the policy's message and waits.
    const prompt = await c.run([
      'sh',
      '-c',
      `grep -l 'Password:' ${FLOOD_DIR}/*.log | head -n 1 | xargs cat`,
    ]);
    expect(prompt).toContain('AUTHENTICATING FOR org.bootc.storage.pull');
    expect(prompt).toContain(`Authentication is required to pull the container image ${REF}:`);
    const status = await c.run(['loginctl', 'session-status', session, '--no-pager', '--lines=0']);
    expect(status).toContain(`session-${session}.scope`);
    expect(status).toMatch(/pkttyagent .*--process \d+/);
    expect(status).toContain('polkit-agent-helper-1');

    // The flooder got Busy for its own excess only: its share of dialogs is pending, every other pull is Busy.
    expect(state.prompts).toBe(DIALOGS_PER_UID);
    expect(state.codes).toEqual(Array(PULLS - DIALOGS_PER_UID).fill(EXIT_BUSY));
    const busy = await c.run(['sh', '-c', `grep -h 'bootc-storagectl: cannot pull' ${FLOOD_DIR}/*.log`]);
    expect(busy.trim().split('\n')).toHaveLength(PULLS - DIALOGS_PER_UID);
    expect(busy).toMatch(/too many authorization dialogs are pending/);
  });

  it("answers root's interactive Pull (StartPull) and Remove at once, never Busy", async () => {
    const pulls: number[] = [];
    const removes: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Root passes authorization (the pull policy is parsed before polkit, so it must be a valid one): the job
      // is queued and StartPull answers at once (Pull would wait for the job against a closed port). Canceled
      // right away: the Remove below would otherwise wait behind it in the one queue of writes.
      const pull = await busctl('StartPull', ['ss', `${REF}:root`, 'missing']);
      expect(pull.stderr).not.toMatch(/too many|Busy|Access denied/i);
      expect(pull.code, pull.stderr).toBe(0);
      const [job] = (JSON.parse(pull.stdout) as { data: [number, string] }).data;
      await busctl('CancelJob', ['u', String(job)]); // ended already (refused connection) is as good
      pulls.push(pull.ms);
      const remove = await busctl('Remove', ['as', '1', `${REF}:absent`]);
      expect(remove.stderr).not.toMatch(/too many|Busy|Access denied/i);
      // Root passes authorization; the store then answers NotFound for the absent image.
      expect(remove.stderr).toMatch(/no image matches/);
      removes.push(remove.ms);
    }
    log(`during the flood, root: StartPull ${pulls.join('/')} ms, Remove ${removes.join('/')} ms`);
    expect(Math.max(...pulls, ...removes)).toBeLessThan(PROMPT_MS);
  });

  it("answers another user's List and Exists at once, and refuses that user's Pull only as polkit says", async () => {
    const list = await busctl('List', [], READER);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).data).toEqual([[]]);
    const exists = await busctl('Exists', ['s', `${REF}:1`], READER);
    expect(exists.code, exists.stderr).toBe(0);
    expect(JSON.parse(exists.stdout).data).toEqual([false]);
    const cli = await c.exec(['bootc-storagectl', 'list'], { user: READER });
    expect(cli.code, cli.stderr).toBe(0);
    log(`during the flood, ${READER}: List ${list.ms} ms, Exists ${exists.ms} ms`);
    expect(Math.max(list.ms, exists.ms)).toBeLessThan(PROMPT_MS);
    // The reader's own dialog is not Busy: polkit is asked, finds no agent for it, and refuses.
    const pull = await busctl('Pull', ['ss', `${REF}:reader`, 'missing'], READER);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toMatch(/Access denied/i);
  });

  it('lets the flooder itself read, refuses its next dialog with Busy, and frees its share when it leaves', async () => {
    const list = await busctl('List', [], FLOODER);
    expect(list.code, list.stderr).toBe(0);
    const more = await busctl('Pull', ['ss', `${REF}:more`, 'missing'], FLOODER);
    expect(more.stderr).toMatch(/too many authorization dialogs are pending/);
    // The session ends: its agents go, polkitd dismisses their checks, the daemon releases the dialogs.
    await c.run(['loginctl', 'terminate-session', session]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const again = await busctl('Pull', ['ss', `${REF}:again`, 'missing'], FLOODER);
      if (!/too many authorization dialogs/.test(again.stderr)) {
        expect(again.stderr).toMatch(/Access denied/i); // no agent outside the session: polkit refuses
        break;
      }
      if (Date.now() > deadline) throw new Error('the dialogs of the ended session were never released');
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
