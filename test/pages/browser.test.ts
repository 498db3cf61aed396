import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildTestApp, testDatabaseUrl } from '../helpers/app.js';
import { HOLDER_EN, seedRegister } from './seed.js';

const CHROMIUM = '/usr/bin/chromium';
// The screenshots are taken on every run (a page that fails to render fails the test) but kept only
// when asked: `npm run screenshots` writes them to docs/screenshots for the README; a test run
// leaves the tree as it found it.
const KEEP = process.env.SCREENSHOTS_DIR;
const SCREENSHOTS = KEEP ? `${path.resolve(KEEP)}/` : `${mkdtempSync(path.join(os.tmpdir(), 'screenshots-'))}/`;
if (!KEEP) process.on('exit', () => rmSync(SCREENSHOTS, { recursive: true, force: true }));

// The pages look the same on either database: the browser runs once, in the PostgreSQL pass.
if (!testDatabaseUrl()) {
  t.plan(0, 'skipped: browser tests need PostgreSQL (DATABASE_URL); they run in the PostgreSQL pass only');
  process.exit(0);
}

if (!existsSync(CHROMIUM)) {
  t.plan(0, `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/before-tests does it in CI)`);
  process.exit(0);
}

const { chromium } = await import('playwright-core');

const ta = await buildTestApp(t);
const seed = await seedRegister(ta);
await ta.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(ta.app.server.address() as AddressInfo).port}`;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
});
t.teardown(() => browser.close());
mkdirSync(SCREENSHOTS, { recursive: true });

const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

type Ctx = Awaited<ReturnType<typeof browser.newContext>>;
/** A browser context whose pages fail the test on a script error, a CSP violation or a request to another origin. */
async function context(t: { teardown(fn: () => unknown): void; fail(message: string): void }, opts: Parameters<typeof browser.newContext>[0]): Promise<Ctx> {
  const ctx = await browser.newContext(opts);
  t.teardown(() => ctx.close());
  ctx.on('page', (page) => {
    page.on('console', (m) => {
      // The 404 pages this test opens on purpose are the only failed loads allowed.
      if (m.type() === 'error' && !(m.text().includes('404') && m.location().url.includes('GDAIC-1999-'))) t.fail(`console error: ${m.text()} at ${m.location().url}`);
    });
    page.on('pageerror', (e) => t.fail(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) t.fail(`request to another origin: ${r.url()}`);
    });
  });
  return ctx;
}
const shot = (page: Awaited<ReturnType<Ctx['newPage']>>, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

const colour = (page: Awaited<ReturnType<Ctx['newPage']>>) => page.$eval('.verdict', (el) => getComputedStyle(el).borderTopColor);

t.test('a member of the public finds a holder, opens a certificate and sees it suspended after the regulator acts', async (t) => {
  const ctx = await context(t, { ...DESKTOP, locale: 'en-GB' });
  const page = await ctx.newPage();
  await page.goto(`${base}/register`);
  t.equal(await page.getAttribute('html', 'lang'), 'en', 'Accept-Language from the browser picks English');
  await page.getByLabel('Certificate number, name or keyword').fill('Dexterous');
  await Promise.all([page.waitForURL(/\/register\?q=Dexterous/), page.getByRole('button', { name: 'Search' }).click()]);
  const numbers = await page.$$eval('section[data-kind="certificates"] tbody th a', (as) => as.map((a) => a.textContent));
  t.same(numbers, [seed.certificates.valid, seed.certificates.suspended, seed.certificates.revoked]);
  await shot(page, 'register-search.en.desktop');

  await Promise.all([page.waitForURL(`**/register/certificates/${seed.certificates.valid}`), page.getByRole('link', { name: seed.certificates.valid }).click()]);
  t.equal(await page.textContent('.verdict .word'), 'Valid');
  t.equal(await page.textContent('h1'), `Certificate ${seed.certificates.valid}`);
  t.equal(await colour(page), 'rgb(30, 126, 52)', 'valid is green');
  t.ok(await page.getByText('Dexter Arm').isVisible());
  await shot(page, 'certificate-valid.en.desktop');

  const suspended = await fetch(`${base}/v1/certification-cases/${seed.armCaseId}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${seed.c.regulator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'SUSPEND', payload: { reason: 'Emergency stop failed during a factory inspection' } }),
  });
  t.equal(suspended.status, 200, 'the regulator suspends the certificate over the API');
  await page.reload();
  t.equal(await page.textContent('.verdict .word'), 'Suspended');
  t.equal(await colour(page), 'rgb(178, 94, 0)', 'suspended is amber');
  t.ok(await page.getByRole('cell', { name: 'Emergency stop failed during a factory inspection' }).isVisible(), 'the reason is in the history');
  await shot(page, 'certificate-suspended.en.desktop');

  await Promise.all([page.waitForURL(/lang=zh-Hans/), page.getByRole('link', { name: '切换到简体中文' }).click()]);
  t.equal(await page.getAttribute('html', 'lang'), 'zh-Hans');
  t.equal(await page.textContent('.verdict .word'), '已暂停');
  t.ok(await page.getByText('本证书已暂停').isVisible());
  await shot(page, 'certificate-suspended.zh-Hans.desktop');
  await Promise.all([page.waitForURL(/\/register\?lang=zh-Hans$/), page.getByRole('link', { name: '← 返回登记册' }).click()]);
  t.equal(await page.textContent('h1'), '查询公共登记册', 'the chosen language stays on as the reader moves on');
  await Promise.all([page.waitForURL(/lang=en/), page.getByRole('link', { name: 'Switch to English' }).click()]);
  t.equal(await page.textContent('h1'), 'Search the public register');
});

t.test('a certificate number typed into the search box opens its verification page in one step, on a phone, in Chinese', async (t) => {
  const ctx = await context(t, { ...PHONE, locale: 'zh-CN' });
  const page = await ctx.newPage();
  await page.goto(`${base}/register`);
  t.equal(await page.getAttribute('html', 'lang'), 'zh-Hans');
  await shot(page, 'register.zh-Hans.phone');
  await page.getByLabel('证书编号、名称或关键词').fill(seed.certificates.xss.toLowerCase());
  await Promise.all([page.waitForURL(`**/register/certificates/${seed.certificates.xss}`), page.getByLabel('证书编号、名称或关键词').press('Enter')]);
  t.equal(await page.textContent('.verdict .word'), '有效');
  t.ok(await page.getByText('<script>alert(1)</script>').isVisible(), 'a product named like a script is shown as text');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  t.ok(width <= 390, `no sideways scrolling on a phone (${width}px)`);
  await shot(page, 'certificate-valid.zh-Hans.phone');

  await page.goto(`${base}/register/certificates/${seed.certificates.revoked}`);
  t.equal(await page.textContent('.verdict .word'), '已撤销');
  t.equal(await colour(page), 'rgb(179, 38, 30)', 'revoked is red');
  await shot(page, 'certificate-revoked.zh-Hans.phone');

  const missing = await page.goto(`${base}/register/certificates/GDAIC-1999-000009`);
  t.equal(missing!.status(), 404);
  t.equal(await page.textContent('h1'), '未找到');
  await shot(page, 'not-found.zh-Hans.phone');
});

t.test('the pages work without JavaScript', async (t) => {
  const ctx = await context(t, { ...DESKTOP, locale: 'en-US', javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(`${base}/register`);
  await page.getByText('Filters', { exact: true }).click();
  await page.getByLabel('Register', { exact: true }).selectOption('sandbox');
  await Promise.all([page.waitForURL(/kind=sandbox/), page.getByRole('button', { name: 'Apply filters' }).click()]);
  t.same(await page.$$eval('section.results', (ss) => ss.map((s) => s.getAttribute('data-kind'))), ['sandbox'], 'filters are a plain form');
  await Promise.all([page.waitForURL(`**/register/sandbox/${seed.sandbox}`), page.getByRole('link', { name: seed.sandbox }).click()]);
  t.ok(await page.getByText('Triage Assistant').isVisible());
  await shot(page, 'sandbox-participant.en.desktop');

  await page.goto(`${base}/register?q=${encodeURIComponent('Cantonese')}`);
  await Promise.all([page.waitForURL(`**/register/genai-projects/${seed.genai}`), page.getByRole('link', { name: seed.genai }).click()]);
  t.ok(await page.getByText('Red-teaming Cantonese chat models').isVisible());
  await shot(page, 'genai-project.en.desktop');
  await page.goto(`${base}/register/genai-projects/${seed.genai}?lang=zh-Hans`);
  t.ok(await page.getByText('进行中').first().isVisible());
  await shot(page, 'genai-project.zh-Hans.desktop');

  await page.goto(`${base}/register/certificates/GDAIC-1999-000001`);
  t.ok(await page.getByText('No certificate with the number “GDAIC-1999-000001” has been issued.').isVisible());
  await shot(page, 'not-found.en.desktop');
  t.ok(await page.getByText(HOLDER_EN).count() === 0, 'the 404 page shows nobody’s data');
});

t.test('the workflows page draws each machine without a script', async (t) => {
  const ctx = await context(t, { ...DESKTOP, locale: 'en-GB', javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(`${base}/workflows`);
  t.equal(await page.locator('svg.state-diagram').count(), 3);
  for (const kind of ['sandbox-cases', 'certification-cases', 'genai-projects']) {
    const box = await page.locator(`section[data-kind="${kind}"] svg.state-diagram`).boundingBox();
    t.ok(box && box.width > 200 && box.height > 200, `${kind}: the diagram is drawn (${box?.width}×${box?.height})`);
  }
  for (const kind of ['sandbox-cases', 'certification-cases', 'genai-projects']) {
    await page.locator(`section[data-kind="${kind}"] figure.diagram`).screenshot({ path: `${SCREENSHOTS}workflow-${kind}.en.desktop.png` });
  }
  await page.screenshot({ path: `${SCREENSHOTS}workflows.en.desktop.png` });
  const phone = await (await context(t, { ...PHONE, locale: 'zh-CN' })).newPage();
  await phone.goto(`${base}/workflows`);
  t.equal(await phone.textContent('h1'), '办理流程');
  const scroll = await phone.$eval('section[data-kind="sandbox-cases"] figure.diagram', (f) => f.scrollWidth > f.clientWidth);
  t.ok(scroll, 'on a phone the diagram keeps its size and scrolls inside its frame');
  t.ok((await phone.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'the page itself does not scroll sideways');
  await phone.screenshot({ path: `${SCREENSHOTS}workflows.zh-Hans.phone.png` });
});
