// The Cockpit page in a real browser: Debian's Chromium (puppeteer-core) on Debian's cockpit-ws and
// cockpit-bridge, the bridge on the test's private system bus, the daemon serving a real ostree sysroot and a
// real registry (a throttling proxy in front of it for the slow pulls). Each state is saved as a screenshot in
// .cache/reports/browser/, the README's picture as docs/cockpit-page.png, and any console error or uncaught
// exception in the page fails the test it happened in.

import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  attributes,
  type CockpitWs,
  type ConsoleRecord,
  launchBrowser,
  recordConsole,
  screenshot,
  startCockpitWs,
  type TestBrowser,
  texts,
  waitForSelector,
  writeReport,
} from '../helpers/cockpit.js';
import { callStorage } from '../helpers/daemon.js';
import {
  createSysroot,
  deleteRef,
  deploy,
  fetchUpdate,
  imageQuadlet,
  type OstreeDeployment,
  undeploy,
} from '../helpers/ostree-sysroot.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { RawPodman } from '../helpers/store-podman.js';
import { REPO } from '../helpers/system-bus.js';
import { waitFor } from '../helpers/wait-for.js';
import { TEST_USER } from '../integration/global-setup.js';

const FAST = 1024 ** 3;
const DOCS_PICTURE = join(REPO, 'docs/cockpit-page.png');

let s: Stack;
let ws: CockpitWs;
let tb: TestBrowser;
let page: Page;
let consoleLog: ConsoleRecord;
const ref: Record<'db' | 'web' | 'old' | 'host' | 'big', string> = {} as never;
const id: Record<string, string> = {};
let older: OstreeDeployment;
let newer: OstreeDeployment;
const name = (d: OstreeDeployment) => `${d.checksum}.${d.serial}`;

beforeAll(async () => {
  s = await startStack({ beforeDaemon: (sb) => void createSysroot(sb.sysroot) });
  const h = s.registry.host;
  const viaProxy = (r: string) => r.replace(h, s.proxy.host);
  const pushed = {
    db: [`${h}/demo/db:1`, 64 * 1024],
    web: [`${h}/demo/web:2`, 3 * 1024 * 1024],
    old: [`${h}/demo/old:0.9`, 256 * 1024],
    host: [`${h}/demo/os:42`, 64 * 1024],
    big: [`${h}/demo/big:1`, 24 * 1024 * 1024],
  } as const;
  for (const [k, [r, bytes]] of Object.entries(pushed)) id[k] = await s.builder.buildAndPush(r, { bytes });
  // The bound image and the big one are pulled through the throttling proxy, so their bars can be watched.
  Object.assign(ref, {
    db: pushed.db[0],
    web: viaProxy(pushed.web[0]),
    old: pushed.old[0],
    host: pushed.host[0],
    big: viaProxy(pushed.big[0]),
  });
  for (const r of [ref.db, ref.old, ref.host]) await callStorage(s.client, 'Pull', 'ss', [r, 'missing']);
  older = deploy(s.sandbox.sysroot, {
    quadlets: { 'db.image': imageQuadlet(ref.db) },
    origin: `ostree-unverified-registry:${h}/demo/os:41`,
  });
  newer = deploy(s.sandbox.sysroot, {
    quadlets: { 'db.image': imageQuadlet(ref.db), 'web.image': imageQuadlet(ref.web) },
    origin: `ostree-unverified-registry:${ref.host}`,
  });
  // A fresh daemon: the setup's pulls are not in the job list the page shows.
  await s.restartDaemon();
  ws = await startCockpitWs({ busAddress: s.bus.address });
  tb = await launchBrowser();
  page = await tb.browser.newPage();
  consoleLog = recordConsole(page);
  await page.goto(ws.pageUrl, { waitUntil: 'load' });
});

afterEach(() => {
  // Any console error or uncaught exception fails the test it happened in.
  if (!consoleLog) return;
  const errors = consoleLog.errors.splice(0);
  expect(errors, consoleLog.all.join('\n')).toEqual([]);
});

afterAll(async () => {
  if (consoleLog) writeReport('console.log', `${consoleLog.all.join('\n')}\n`);
  if (ws) writeReport('cockpit-ws.log', ws.output());
  await tb?.close();
  await ws?.stop();
  await s?.stop();
});

const jobRow = (jobId: number) => `#jobs tr[data-job="${jobId}"]`;
const deploymentRow = (d: OstreeDeployment) => `#deployments tr[data-deployment="${name(d)}"]`;
const boundItem = (d: OstreeDeployment, image: string) => `${deploymentRow(d)} li[data-image="${image}"]`;

/** The page's progress bar of a job: its aria-valuenow (undefined while unknown) and state. */
async function jobBar(jobId: number): Promise<{ state: string | null; value: number | undefined }> {
  const [state] = await attributes(page, jobRow(jobId), 'data-state');
  const [value] = await attributes(page, `${jobRow(jobId)} .pf-v6-c-progress__bar`, 'aria-valuenow');
  return { state: state ?? null, value: value === null || value === undefined ? undefined : Number(value) };
}

/** The highest job Id the page lists (0 when none). */
async function maxJob(): Promise<number> {
  return Math.max(0, ...(await attributes(page, '#jobs tr[data-job]', 'data-job')).map(Number));
}

/** Runs `act` (a click), then waits for the page to list a job newer than every job before it. */
async function newJobAfter(act: () => Promise<void>): Promise<number> {
  const before = await maxJob();
  await act();
  return waitFor(async () => {
    const n = await maxJob();
    return n > before ? n : 0;
  }, 'a new job row');
}

/**
 * PatternFly's component, layout and utility classes (`pf-v6-c-card`, `pf-v6-l-stack`, `pf-v6-u-screen-reader`;
 * not their elements or modifiers) on the page that no stylesheet names: a component whose CSS the build left
 * out (cockpit/build.mjs keeps only the CSS that cockpit/src/page.css imports).
 */
async function expectStyled(p: Page): Promise<void> {
  const unstyled = await p.evaluate(`(() => {
    const used = new Set();
    for (const el of document.querySelectorAll('[class]')) {
      for (const c of el.classList) if (/^pf-v6-[clu]-[a-z-]+$/.test(c)) used.add(c);
    }
    const css = [...document.styleSheets].flatMap((s) => [...s.cssRules].map((r) => r.cssText)).join('\\n');
    return [...used].filter((c) => !new RegExp('\\\\.' + c + '(?![\\\\w-])').test(css));
  })()`);
  expect(unstyled).toEqual([]);
}

type Variant = { signature: string; value: unknown };
async function jobState(jobId: number): Promise<string> {
  const [v] = (await callStorage(s.client, 'Get', 'ss', ['org.bootc.Storage.Job', 'State'], {
    path: `/org/bootc/Storage/job/${jobId}`,
    iface: 'org.freedesktop.DBus.Properties',
  })) as [Variant];
  return String(v.value);
}

describe('the bootc image store page', () => {
  it('shows the deployments with their bound images, and every image with who binds it', async () => {
    await waitForSelector(page, '#deployments tr[data-deployment]');
    const [deployments] = (await callStorage(s.client, 'ListDeployments')) as [[string, string, string][]];
    expect(await attributes(page, '#deployments tr[data-deployment]', 'data-deployment')).toEqual(
      deployments.map(([d]) => d),
    );
    expect(deployments.map(([d]) => d)).toEqual([name(newer), name(older)]);
    expect(await attributes(page, '#deployments tr[data-deployment]', 'data-role')).toEqual([
      'other',
      'other',
    ]);
    expect((await texts(page, `${deploymentRow(newer)} td[data-label="Host image"]`))[0]).toBe(ref.host);
    expect(await attributes(page, boundItem(newer, ref.db), 'data-present')).toEqual(['true']);
    expect(await attributes(page, boundItem(newer, ref.web), 'data-present')).toEqual(['false']);
    expect(await attributes(page, boundItem(older, ref.db), 'data-present')).toEqual(['true']);
    // Only a deployment with a missing image offers to pull.
    expect(await page.$$(`${deploymentRow(newer)} [data-action="pull-missing"]`)).toHaveLength(1);
    expect(await page.$$(`${deploymentRow(older)} [data-action="pull-missing"]`)).toHaveLength(0);
    // Images: the store's list, with who needs each one.
    const [images] = (await callStorage(s.client, 'List')) as [[string, string[], string, bigint, bigint][]];
    expect((await attributes(page, '#images tr[data-id]', 'data-id')).sort()).toEqual(
      images.map(([i]) => i).sort(),
    );
    const usedBy = async (imageId: string) =>
      (await texts(page, `#images tr[data-id="${imageId}"] td[data-label="Used by"]`))[0];
    expect(await usedBy(id.db!)).toContain('(db.image)');
    expect(await usedBy(id.host!)).toContain('host image of');
    expect(await usedBy(id.old!)).toBe('Unused');
    const [storePath] = (await callStorage(s.client, 'Get', 'ss', ['org.bootc.Storage', 'StorePath'], {
      iface: 'org.freedesktop.DBus.Properties',
    })) as [Variant];
    expect((await texts(page, '#store-info'))[0]).toContain(String(storePath.value));
    await expectStyled(page);
    await screenshot(page, '01-overview');
    await screenshot(page, '01-overview-full', { fullPage: true });
    // A narrow window: the tables turn into labelled grids and nothing is wider than the window.
    await page.setViewport({ width: 400, height: 800 });
    await new Promise((r) => setTimeout(r, 200));
    const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    expect(width).toBeLessThanOrEqual(400);
    // Every button is inside the window, none cut off by its card.
    const rights = (await page.evaluate(
      "[...document.querySelectorAll('#app button')].filter((b) => !b.closest('[hidden]')).map((b) => b.getBoundingClientRect().right)",
    )) as number[];
    expect(Math.max(...rights)).toBeLessThanOrEqual(400);
    await screenshot(page, '02-narrow', { fullPage: true });
    await page.setViewport({ width: 1280, height: 800 });
    // The dark theme, as the shell's "auto" style follows the system's preference.
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    await waitForSelector(page, 'html.pf-v6-theme-dark');
    await screenshot(page, '02-dark', { fullPage: true });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    await waitFor(async () => !(await page.$('html.pf-v6-theme-dark')), 'the light theme again');
  });

  it('refuses an invalid reference with the name the daemon gives it', async () => {
    await page.type('#pull-image', 'not a ref');
    await page.click('#pull-submit');
    const alertSel = '#alerts [data-error-name="org.bootc.Storage.Error.InvalidReference"]';
    await waitForSelector(page, alertSel);
    const [title] = await texts(page, `${alertSel} .pf-v6-c-alert__title`);
    expect(title).toMatch(/^Danger alert:Invalid reference: .*not a ref/);
    await expectStyled(page);
    await screenshot(page, '03-invalid-reference');
    await page.click(`${alertSel} .pf-v6-c-alert__action button`);
    await waitFor(async () => (await page.$$(alertSel)).length === 0, 'the alert to close');
    // Emptied as a user does (the field is React's: a value set from outside would not reach its state).
    await page.click('#pull-image', { clickCount: 3 });
    await page.keyboard.press('Backspace');
    expect(await page.evaluate("document.getElementById('pull-image').value")).toBe('');
  });

  it('follows a throttled pull live and cancels it from the job list', async () => {
    s.proxy.setRate(1024 * 1024); // 25 MB would take half a minute
    try {
      await page.type('#pull-image', ref.big);
      await page.select('#pull-policy', 'always');
      const jobId = await newJobAfter(() => page.click('#pull-submit'));
      // Running, with bytes moving (the helper text names them) while the proxy holds it back.
      await waitFor(
        async () => {
          const bar = await jobBar(jobId);
          const [detail] = await texts(page, `${jobRow(jobId)} .pf-v6-c-helper-text__item-text`);
          return bar.state === 'running' && (bar.value ?? 0) >= 12 && / of 25 MB/.test(detail ?? '');
        },
        'the pull to move',
        30_000,
      );
      expect(await attributes(page, '#jobs tr[data-job]', 'data-job')).toEqual([String(jobId)]);
      expect((await texts(page, `${jobRow(jobId)} .bsp-job-title`))[0]).toBe(`Pull ${ref.big}`);
      await expectStyled(page);
      await page.evaluate('window.scrollTo(0, 0)');
      const picture = await screenshot(page, '04-pull-running');
      copyFileSync(picture, DOCS_PICTURE);
      await page.click(`${jobRow(jobId)} [data-action="cancel"]`);
      await waitFor(
        async () => (await jobBar(jobId)).state === 'canceled',
        'the job to show canceled',
        30_000,
      );
      expect(await jobState(jobId)).toBe('canceled');
      // A job that cannot be canceled any more has no Cancel button.
      expect(await page.$$(`${jobRow(jobId)} [data-action="cancel"]`)).toHaveLength(0);
      await screenshot(page, '05-pull-canceled');
    } finally {
      s.proxy.setRate(FAST);
    }
  });

  it('"Pull missing" pulls the missing bound image with a bar that reaches the end, and it turns present', async () => {
    s.proxy.setRate(1024 * 1024); // 3 MB in about three seconds: the bar moves visibly
    const seen: number[] = [];
    let midShot = false;
    try {
      const jobId = await newJobAfter(() =>
        page.click(`${deploymentRow(newer)} [data-action="pull-missing"]`),
      );
      expect((await texts(page, `${jobRow(jobId)} .bsp-job-title`))[0]).toBe(
        `Pull bound images of ${name(newer).slice(0, 12)}.${newer.serial}`,
      );
      await waitFor(
        async () => {
          const bar = await jobBar(jobId);
          if (bar.value !== undefined && seen.at(-1) !== bar.value) seen.push(bar.value);
          if (!midShot && bar.value !== undefined && bar.value > 0 && bar.value < 100) {
            midShot = true;
            await screenshot(page, '06-sync-progress');
          }
          return bar.state === 'done' || bar.state === 'failed';
        },
        'the sync to end',
        60_000,
        50,
      );
      expect(await jobState(jobId)).toBe('done');
      expect(seen.at(-1)).toBe(100);
      expect(
        seen.some((v) => v > 0 && v < 100),
        `values seen: ${seen.join(',')}`,
      ).toBe(true);
      await waitFor(
        async () => (await attributes(page, boundItem(newer, ref.web), 'data-present'))[0] === 'true',
        'the bound image to show present',
      );
      expect(await page.$$(`${deploymentRow(newer)} [data-action="pull-missing"]`)).toHaveLength(0);
      const [bound] = (await callStorage(s.client, 'ListBoundImages')) as [
        [string, string, string, boolean][],
      ];
      expect(bound.every(([, , , present]) => present)).toBe(true);
      await screenshot(page, '07-sync-done');
    } finally {
      s.proxy.setRate(FAST);
    }
  });

  it('previews garbage collection exactly as the D-Bus dry run, then runs it', async () => {
    await page.click('#gc-preview');
    await waitForSelector(page, '#gc tr[data-id]');
    const removedOnPage = (await attributes(page, '#gc tr[data-kept="false"]', 'data-id')).sort();
    const [dry] = (await callStorage(s.client, 'GarbageCollect', 'b', [true])) as [string[]];
    expect(removedOnPage).toEqual([...dry].sort());
    expect(removedOnPage).toContain(id.old);
    // db is bound by both deployments: one reason line each.
    const reasons = await texts(page, `#gc tr[data-id="${id.db}"] td[data-label="Reason"] li`);
    expect(reasons.sort()).toEqual(
      [older, newer]
        .map((d) => `bound by ${d.checksum.slice(0, 12)}.${d.serial} (usr/lib/bootc/bound-images.d/db.image)`)
        .sort(),
    );
    await page.evaluate("document.getElementById('gc').scrollIntoView()");
    await screenshot(page, '08-gc-preview');
    await page.click('#gc-run');
    await waitForSelector(page, '#gc-dialog-confirm', { visible: true });
    await expectStyled(page);
    await screenshot(page, '09-gc-confirm');
    await page.click('#gc-dialog-confirm');
    await waitFor(
      async () => (await texts(page, '#gc-summary'))[0]?.startsWith('Nothing to remove'),
      'the preview to show nothing left to remove',
      60_000,
    );
    const [images] = (await callStorage(s.client, 'List')) as [[string][]];
    const left = images.map(([i]) => i);
    for (const gone of dry) expect(left).not.toContain(gone);
    expect((await attributes(page, '#images tr[data-id]', 'data-id')).sort()).toEqual([...left].sort());
    await page.evaluate("document.getElementById('gc').scrollIntoView()");
    await screenshot(page, '10-gc-done');
  });

  it('removes an image by its ID, and the deployment shows it missing again', async () => {
    await page.click(`#images tr[data-id="${id.db}"] [data-action="remove"]`);
    await waitForSelector(page, '#remove-dialog-confirm', { visible: true });
    await screenshot(page, '11-remove-confirm');
    await page.click('#remove-dialog-confirm');
    await waitFor(
      async () => (await page.$$(`#images tr[data-id="${id.db}"]`)).length === 0,
      'the image row to go',
    );
    await waitFor(
      async () => (await attributes(page, boundItem(older, ref.db), 'data-present'))[0] === 'false',
      'the bound image to show missing',
    );
    const [images] = (await callStorage(s.client, 'List')) as [[string][]];
    expect(images.map(([i]) => i)).not.toContain(id.db);
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, '12-removed');
  });

  it('follows writes by others without a reload: raw podman on the store, ostree admin deploy and undeploy', async () => {
    const ids = () => attributes(page, '#images tr[data-id]', 'data-id');
    const rows = () => attributes(page, '#deployments tr[data-deployment]', 'data-deployment');
    const other = `${s.registry.host}/demo/outside:1`;
    const otherId = await s.builder.buildAndPush(other, { bytes: 32 * 1024 });
    const raw = new RawPodman(s);
    try {
      // Pulled by hand on the store (podman, not a job of the daemon's): StoreChanged brings it in.
      await raw.ok(['pull', '--tls-verify=false', other]);
      await waitFor(
        async () => (await ids()).includes(otherId),
        'the outside image to show, no reload',
        5000,
      );
      await screenshot(page, '12a-outside-pull');
      await raw.ok(['rmi', other]);
      await waitFor(async () => !(await ids()).includes(otherId), 'the outside image to go, no reload', 5000);
    } finally {
      raw.close();
    }
    const before = await rows();
    const extra = deploy(s.sandbox.sysroot, {
      quadlets: { 'db.image': imageQuadlet(ref.db) },
      origin: `ostree-unverified-registry:${s.registry.host}/demo/os:43`,
      retain: true,
    });
    await waitFor(async () => (await rows()).includes(name(extra)), 'the new deployment to show', 5000);
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, '12b-outside-deploy');
    undeploy(s.sandbox.sysroot, 0);
    await waitFor(
      async () => JSON.stringify(await rows()) === JSON.stringify(before),
      'the undeployed one to go',
      5000,
    );
  });

  it('shows a fetched update as pending with its bound images, and "Prepare update" pulls them', async () => {
    const image = `${s.registry.host}/demo/next:1`;
    await s.builder.buildAndPush(image, { bytes: 16 * 1024 });
    // What `bootc upgrade --download-only` leaves: a commit under the image's ref, not deployed.
    const update = fetchUpdate(s.sandbox.sysroot, `registry:${s.registry.host}/demo/os:44`, {
      quadlets: { 'next.image': imageQuadlet(image) },
    });
    const row = `#deployments tr[data-deployment="${update.commit}"]`;
    await waitForSelector(page, `${row}[data-role="pending"]`);
    await waitFor(
      async () => (await attributes(page, `${row} li[data-image="${image}"]`, 'data-present'))[0] === 'false',
      'its bound image, missing',
    );
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, '12c-pending-update');
    await page.click(`${row} [data-action="prepare-update"]`);
    await waitFor(
      async () => (await attributes(page, `${row} li[data-image="${image}"]`, 'data-present'))[0] === 'true',
      'its bound image, present after "Prepare update"',
      30_000,
    );
    await screenshot(page, '12d-update-prepared');
    deleteRef(s.sandbox.sysroot, update.ref);
    await waitFor(async () => (await page.$$(row)).length === 0, 'the dropped update to go');
  });

  it('follows a restart of the daemon by itself: the new daemon has no jobs', async () => {
    expect((await page.$$('#jobs tr[data-job]')).length).toBeGreaterThan(0);
    await s.restartDaemon();
    await waitFor(
      async () => (await page.$$('#jobs tr[data-job]')).length === 0,
      'the job list to empty',
      30_000,
    );
    await waitForSelector(page, '#jobs-empty', { visible: true });
    await waitForSelector(page, '#deployments tr[data-deployment]');
  });

  it('is a menu entry of Cockpit’s shell and works inside it', async () => {
    const shell = await tb.browser.newPage();
    const shellLog = recordConsole(shell);
    try {
      await shell.goto(ws.shellUrl, { waitUntil: 'load' });
      const frameSel = 'iframe[name="cockpit1:localhost/bootc-storage"]';
      await waitForSelector(shell, frameSel, { timeout: 30_000 });
      const frame = await (await shell.$(frameSel))!.contentFrame();
      await waitForSelector(frame, '#deployments tr[data-deployment]');
      expect(await texts(shell, '#host-apps a, nav a')).toEqual(
        expect.arrayContaining(['bootc image store']),
      );
      await screenshot(shell, '13-shell');
      writeReport('shell-console.log', `${shellLog.all.join('\n')}\n`);
      expect(shellLog.errors, shellLog.all.join('\n')).toEqual([]);
    } finally {
      await shell.close();
    }
  });

  it('for a user without admin access, reads work and a garbage collection is "Not authorized"', async () => {
    const uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).trim());
    const userWs = await startCockpitWs({ busAddress: s.bus.address, user: { uid, gid } });
    const userPage = await tb.browser.newPage();
    const log = recordConsole(userPage);
    try {
      await userPage.goto(userWs.pageUrl, { waitUntil: 'load' });
      await waitForSelector(userPage, '#deployments tr[data-deployment]');
      expect(await attributes(userPage, '#deployments tr[data-deployment]', 'data-deployment')).toEqual([
        name(newer),
        name(older),
      ]);
      await userPage.click('#gc-run');
      await waitForSelector(userPage, '#gc-dialog-confirm', { visible: true });
      await userPage.click('#gc-dialog-confirm');
      const alertSel = '#alerts [data-error-name="org.freedesktop.DBus.Error.AccessDenied"]';
      await waitForSelector(userPage, alertSel);
      expect((await texts(userPage, `${alertSel} .pf-v6-c-alert__title`))[0]).toMatch(
        /^Danger alert:Not authorized/,
      );
      await screenshot(userPage, '14-not-authorized');
      expect(log.errors, log.all.join('\n')).toEqual([]);
    } finally {
      await userPage.close();
      await userWs.stop();
    }
  });
});
