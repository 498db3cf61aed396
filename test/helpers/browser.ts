// Headless Chromium for the page tests (register and workbench): when a file may run, the browser,
// the app on a port, pages that fail the test on a script error, axe-core, and screenshots kept
// only when asked (`npm run screenshots` sets SCREENSHOTS_DIR; a test run leaves the tree as it found it).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import type { TestApp } from './app.js';
import { testDatabaseUrl } from './app.js';

export type { Browser, BrowserContext, Page };
type Tap = { teardown(fn: () => unknown): void; fail(message: string): void };
type ContextOptions = NonNullable<Parameters<Browser['newContext']>[0]>;

export const CHROMIUM = '/usr/bin/chromium';
export const DESKTOP = { viewport: { width: 1280, height: 900 } };
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** Ends the file as skipped, with the reason, unless PostgreSQL and Chromium are both there; returns only when they are. */
export function skipUnlessBrowser(t: { plan(n: number, comment: string): void }): void {
  // The pages are the same on either database: the browser runs once, in the PostgreSQL pass.
  if (!testDatabaseUrl()) {
    t.plan(0, 'skipped: browser tests need PostgreSQL (DATABASE_URL); they run in the PostgreSQL pass only');
    process.exit(0);
  }
  if (!existsSync(CHROMIUM)) {
    t.plan(0, `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/before-tests does it in CI)`);
    process.exit(0);
  }
}

/** Where this file's screenshots go: SCREENSHOTS_DIR when set, else a directory removed at exit. Ends with a slash. */
export function screenshotsDir(prefix: string): string {
  const keep = process.env.SCREENSHOTS_DIR;
  const dir = keep ? path.resolve(keep) : mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  if (!keep) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(dir, { recursive: true });
  return `${dir}/`;
}

/** The app listening on a free loopback port; answers its base URL. */
export async function serve(ta: TestApp): Promise<string> {
  await ta.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(ta.app.server.address() as AddressInfo).port}`;
}

/** Chromium, closed when the file ends. */
export async function launchBrowser(t: { teardown(fn: () => unknown): void }): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  return browser;
}

export type Watch = {
  /** A console error the test expects (a page answered 4xx on purpose). */
  allowError?: (m: ConsoleMessage) => boolean;
  /** Fail on any request outside this origin. */
  origin?: string;
};

/** A browser context closed with the test, whose pages fail it on a script error, a console error not allowed, or a request elsewhere. */
export async function context(t: Tap, browser: Browser, opts: ContextOptions = {}, watch: Watch = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext(opts);
  t.teardown(() => ctx.close());
  ctx.on('page', (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error' && !watch.allowError?.(m)) t.fail(`console error: ${m.text()} at ${m.location().url}`);
    });
    page.on('pageerror', (e) => t.fail(`page error: ${e.message}`));
    if (watch.origin) {
      const origin = watch.origin;
      page.on('request', (r) => {
        if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) t.fail(`request to another origin: ${r.url()}`);
      });
    }
  });
  return ctx;
}

// axe is injected as a script evaluated in the page: the pages' CSP refuses added script tags.
let axeSource: string | null = null;

/** axe-core on the page as it is: no serious or critical violation. */
export async function accessible(t: { same(a: unknown, b: unknown, m: string): void }, p: Page, what: string): Promise<void> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const violations = await p.evaluate(async (source) => {
    // eslint-disable-next-line no-eval
    (0, eval)(source);
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`);
  }, axeSource);
  t.same(violations, [], `axe: ${what}`);
}
