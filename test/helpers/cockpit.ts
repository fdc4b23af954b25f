// The browser tier's machinery: the Cockpit page built from cockpit/, Debian's cockpit-ws serving it with a
// local session (cockpit-bridge as this user) on the test's private system bus, and Debian's Chromium driven
// by puppeteer-core, with every console error and page error recorded so a test can fail on them.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer-core';
import { getFreePort } from './ports.js';
import { REPO } from './system-bus.js';
import { makeTempDir } from './tmp.js';
import { waitFor } from './wait-for.js';

export const COCKPIT_WS = '/usr/lib/cockpit/cockpit-ws';
export const COCKPIT_BRIDGE = '/usr/bin/cockpit-bridge';
export const CHROMIUM = '/usr/bin/chromium';
/** Where the browser tier builds the page (test/browser/global-setup.ts). */
export const TEST_PAGE_DIR = join(REPO, '.cache/test-cockpit/bootc-storage');
/** Screenshots of each state, for people to look at. */
export const REPORT_DIR = join(REPO, '.cache/reports/browser');
/** The package name: the page is /cockpit/@localhost/bootc-storage/index.html. */
export const PACKAGE = 'bootc-storage';

/** Builds the page package into `outdir` (cockpit/build.mjs, as `make build` does). */
export function buildPage(outdir = TEST_PAGE_DIR): void {
  execFileSync(process.execPath, [join(REPO, 'cockpit/build.mjs'), outdir], { cwd: REPO, stdio: 'inherit' });
}

export interface CockpitWs {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The page outside the shell. */
  pageUrl: string;
  /** The page inside Cockpit's shell (navigation, header). */
  shellUrl: string;
  /** `cockpit-bridge --packages` with the same environment: the bridge's view of the installed packages. */
  packages: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts cockpit-ws without TLS on 127.0.0.1 with a local session: the session is a cockpit-bridge running as
 * this process's user (root here) or the given one, with DBUS_SYSTEM_BUS_ADDRESS pointing at the test bus and
 * XDG_DATA_DIRS leading with a directory whose cockpit/bootc-storage is the built page. cockpit-ws serves one
 * such session: use one browser (its pages share the session) per instance.
 */
export async function startCockpitWs(opts: {
  busAddress: string;
  pageDir?: string;
  /** Run cockpit-ws (and so the session's bridge) as this user instead of root. */
  user?: { uid: number; gid: number };
}): Promise<CockpitWs> {
  const tmp = makeTempDir('bsd-cockpit-');
  chmodSync(tmp.path, 0o755); // the session's user reads the package directory
  const data = join(tmp.path, 'data');
  mkdirSync(join(data, 'cockpit'), { recursive: true });
  // A copy, not a link: the checkout may sit in a 0700 directory (a `mktemp -d` clone, as CI's), which the
  // session's user could not traverse.
  cpSync(opts.pageDir ?? TEST_PAGE_DIR, join(data, 'cockpit', PACKAGE), { recursive: true });
  const home = join(tmp.path, 'home');
  mkdirSync(home, { recursive: true });
  if (opts.user) chownSync(home, opts.user.uid, opts.user.gid);
  const as = opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {};
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DBUS_SYSTEM_BUS_ADDRESS: opts.busAddress,
    XDG_DATA_DIRS: `${data}:/usr/share`,
    // No package from the user's own ~/.local/share/cockpit, no /etc/cockpit/cockpit.conf of the machine.
    XDG_DATA_HOME: join(tmp.path, 'user-data'),
    XDG_CONFIG_DIRS: join(tmp.path, 'config'),
    HOME: home,
    // The bridge would otherwise reach for a session bus (there is none here) and start an ssh-agent for the
    // session, which outlives cockpit-ws.
    DBUS_SESSION_BUS_ADDRESS: 'disabled:',
    SSH_AUTH_SOCK: join(tmp.path, 'no-ssh-agent'),
  };
  const packages = execFileSync(COCKPIT_BRIDGE, ['--packages'], { env, encoding: 'utf8', ...as });
  if (!packages.split('\n').some((l) => l.startsWith(`${PACKAGE} `))) {
    tmp.remove();
    throw new Error(`cockpit-bridge does not find the ${PACKAGE} package:\n${packages}`);
  }
  const port = await getFreePort();
  const origin = `http://127.0.0.1:${port}`;
  let out = '';
  const proc: ChildProcess = spawn(
    COCKPIT_WS,
    ['--no-tls', '--address', '127.0.0.1', '--port', String(port), `--local-session=${COCKPIT_BRIDGE}`],
    { env, stdio: ['ignore', 'pipe', 'pipe'], ...as },
  );
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    tmp.remove();
  };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`cockpit-ws exited ${proc.exitCode}: ${out}`);
        const res = await fetch(`${origin}/cockpit/@localhost/${PACKAGE}/manifest.json`).catch(
          () => undefined,
        );
        return res?.status === 200;
      },
      'cockpit-ws to serve the page',
      15_000,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    origin,
    pageUrl: `${origin}/cockpit/@localhost/${PACKAGE}/index.html`,
    shellUrl: `${origin}/${PACKAGE}`,
    packages,
    output: () => out,
    stop,
  };
}

/** The Chromium flags this closed network needs (no background connections, no sandbox as root). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Headless Debian Chromium with a fresh profile. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = makeTempDir('bsd-chromium-');
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile.path,
    args: CHROMIUM_ARGS,
    defaultViewport: { width: 1280, height: 800 },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      profile.remove();
    },
  };
}

export interface ConsoleRecord {
  /** Console errors and uncaught exceptions, as text with the URL they came from. */
  errors: string[];
  /** Everything the page logged, for a failing test's message. */
  all: string[];
}

/** Records the page's console messages (every frame) and uncaught errors. */
export function recordConsole(page: Page): ConsoleRecord {
  const rec: ConsoleRecord = { errors: [], all: [] };
  page.on('console', (msg) => {
    const where = msg.location()?.url ?? '';
    const line = `${msg.type()}: ${msg.text()}${where ? ` (${where})` : ''}`;
    rec.all.push(line);
    if (msg.type() === 'error') rec.errors.push(line);
  });
  page.on('pageerror', (err) => {
    const line = `pageerror: ${err instanceof Error ? err.message : String(err)}`;
    rec.all.push(line);
    rec.errors.push(line);
  });
  return rec;
}

/** Saves a screenshot of the viewport (or the full page) to the report directory; returns its path. */
export async function screenshot(
  page: Page,
  name: string,
  opts: { fullPage?: boolean } = {},
): Promise<string> {
  mkdirSync(REPORT_DIR, { recursive: true });
  const path = join(REPORT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: opts.fullPage ?? false });
  return path;
}

/** Writes a file next to the screenshots (console logs, for example). */
export function writeReport(name: string, text: string): void {
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(join(REPORT_DIR, name), text);
}

type Scope = Page | Frame;

/** An attribute of every element matching `selector`. */
export function attributes(scope: Scope, selector: string, name: string): Promise<(string | null)[]> {
  return scope.$$eval(selector, (els, attr) => els.map((e) => e.getAttribute(attr)), name);
}

/** The text of every element matching `selector`. */
export function texts(scope: Scope, selector: string): Promise<string[]> {
  return scope.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));
}

/** Waits until `selector` matches an element (visible when asked). */
export async function waitForSelector(
  scope: Scope,
  selector: string,
  opts: { timeout?: number; visible?: boolean } = {},
): Promise<void> {
  await scope.waitForSelector(selector, { timeout: opts.timeout ?? 30_000, visible: opts.visible });
}
