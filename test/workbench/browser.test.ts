import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { buildTestApp, fixtures, testDatabaseUrl } from '../helpers/app.js';
import { caseApi } from './data.js';
import { certificationCast, sha256 } from '../certification/cast.js';

const CHROMIUM = '/usr/bin/chromium';
// Screenshots are taken on every run (a page that fails to render fails the test) but kept only when
// asked: `npm run screenshots` writes them to docs/screenshots for the README.
const KEEP = process.env.SCREENSHOTS_DIR;
const SCREENSHOTS = KEEP ? path.resolve(KEEP) : mkdtempSync(path.join(os.tmpdir(), 'wb-screenshots-'));
if (!KEEP) process.on('exit', () => rmSync(SCREENSHOTS, { recursive: true, force: true }));
// The pages are the same on either database: the browser runs once, in the PostgreSQL pass.
if (!testDatabaseUrl()) {
  t.plan(0, 'skipped: browser tests need PostgreSQL (DATABASE_URL); they run in the PostgreSQL pass only');
  process.exit(0);
}
if (!existsSync(CHROMIUM)) {
  t.plan(0, `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/before-tests does it in CI)`);
  process.exit(0);
}

const { chromium } = await import('playwright-core');
// axe is injected as a script evaluated in the page: the pages' CSP refuses added script tags.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const ta = await buildTestApp(t);
const f = await fixtures(ta);
const api = caseApi(ta);
const product = await f.product(f.applicant.token);
await ta.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(ta.app.server.address() as AddressInfo).port}`;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
});
t.teardown(() => browser.close());

type Page = Awaited<ReturnType<Awaited<ReturnType<typeof browser.newContext>>['newPage']>>;

async function page(t: { teardown(fn: () => unknown): void; fail(m: string): void }, opts: Parameters<typeof browser.newContext>[0] = {}): Promise<Page> {
  const ctx = await browser.newContext({ locale: 'en-GB', ...opts });
  t.teardown(() => ctx.close());
  const p = await ctx.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4(03|09|00|22)/.test(m.text())) t.fail(`console error: ${m.text()}`);
  });
  p.on('pageerror', (e) => t.fail(`page error: ${e.message}`));
  return p;
}

/** axe-core on the page as it is: no serious or critical violation. */
async function accessible(t: { same(a: unknown, b: unknown, m: string): void }, p: Page, what: string) {
  const violations = await p.evaluate(async (source) => {
    // eslint-disable-next-line no-eval
    (0, eval)(source);
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`);
  }, AXE);
  t.same(violations, [], `axe: ${what}`);
}

async function signIn(p: Page, token: string) {
  await p.goto(`${base}/workbench`);
  await p.waitForURL(/\/workbench\/sign-in/);
  await p.getByLabel('Access token').fill(token);
  await Promise.all([p.waitForURL(`${base}/workbench`), p.getByRole('button', { name: 'Sign in' }).click()]);
}

for (const javaScriptEnabled of [true, false]) {
  t.test(`a regulator reviews and asks for information by clicking and typing only (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async (t) => {
    const k = await api.sandboxCase(f.applicant.token, product.id);
    await api.fire('sandbox-cases', k.id, f.applicant.token, 'SUBMIT');
    const p = await page(t, { javaScriptEnabled });
    await p.goto(`${base}/workbench/sign-in`);
    if (javaScriptEnabled) await accessible(t, p, 'sign-in');
    await signIn(p, f.regulator.token);
    if (javaScriptEnabled) await accessible(t, p, 'my work');
    await Promise.all([p.waitForURL(`**/workbench/cases/sandbox-cases/${k.id}`), p.getByRole('link', { name: k.number }).click()]);
    if (javaScriptEnabled) await accessible(t, p, 'case page');
    await Promise.all([p.waitForURL(/events\/START_REVIEW$/), p.getByRole('link', { name: 'Start review' }).click()]);
    await Promise.all([p.waitForURL(/done=START_REVIEW/), p.getByRole('button', { name: 'Start review: submit' }).click()]);
    t.match(await p.textContent('main'), 'Done: Start review.');
    await Promise.all([p.waitForURL(/events\/REQUEST_INFO$/), p.getByRole('link', { name: 'Request information' }).click()]);
    // Submitted empty: the errors, linked from the summary, beside their fields.
    await p.getByRole('button', { name: 'Request information: submit' }).click();
    await p.waitForSelector('#error-summary');
    t.match(await p.title(), /^Error: /);
    if (javaScriptEnabled) await accessible(t, p, 'event form with errors');
    await p.getByLabel(/Item 1/).fill('Which substations are in scope?');
    await p.getByRole('button', { name: 'Add another' }).click();
    await p.getByLabel(/Item 2/).fill('Who supervises the robot at night?');
    t.equal(await p.getByLabel(/Item 1/).inputValue(), 'Which substations are in scope?', 'the first row kept');
    const due = new Date(ta.clock.now().getTime() + 14 * 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 16);
    await p.getByLabel(/Respond by/).fill(due);
    await Promise.all([p.waitForURL(/done=REQUEST_INFO/), p.getByRole('button', { name: 'Request information: submit' }).click()]);
    const after = await api.get('sandbox-cases', k.id, f.regulator.token);
    t.equal(after.state, 'info_requested');
    const asked = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${k.id}/events?type=REQUEST_INFO`, token: f.regulator.token })).json().items[0];
    t.same(asked.payload.questions, ['Which substations are in scope?', 'Who supervises the robot at night?']);
  });
}

t.test('a certification goes from submission through lab assignment, results and the regulator’s decision to the public register, by clicking and typing', async (t) => {
  const cc = await certificationCast(ta);
  const lab = await cc.lab(['ai-safety-risk'], undefined, `Journey Lab ${Date.now()}`);
  const k = await cc.createCase(await cc.product(cc.applicant.token), 'ai-safety-risk');
  const criteria = await cc.criteria('ai-safety-risk');
  const open = async (token: string) => {
    const p = await page(t);
    await signIn(p, token);
    await Promise.all([p.waitForURL(`**/workbench/cases/certification-cases/${k.id}`), p.getByRole('link', { name: k.number }).click()]);
    return p;
  };
  const fire = async (p: Page, event: string, fill: (p: Page) => Promise<void> = async () => {}, decision = false) => {
    await Promise.all([p.waitForURL(/\/events\/[A-Z_]+$/), p.getByRole('link', { name: event, exact: true }).click()]);
    await fill(p);
    await p.getByRole('button', { name: `${event}: submit` }).click();
    // A decision is checked on a page of its own first.
    if (decision) await p.getByRole('button', { name: `Confirm: ${event}` }).click();
    await p.waitForURL(/done=/);
  };

  const applicant = await open(cc.applicant.token);
  await fire(applicant, 'Submit');
  const regulator = await open(cc.regulator.token);
  await fire(regulator, 'Assign lab', (p) => p.getByLabel(lab.org.name).check());
  const labPage = await open(lab.token);
  await fire(labPage, 'Accept assignment');
  await fire(labPage, 'Post results', async (p) => {
    for (let i = 0; i < criteria.length; i++) await p.locator(`input[name="results[${i}].verdict"][value="pass"]`).check();
    await p.getByLabel(/^Summary/).fill('Every criterion passed.');
    await p.getByLabel(/^Report SHA-256/).fill(sha256('journey report'));
    // Tested after the lab's accreditation was set (CERTIFY checks it held on tested_at), to the minute, in China time.
    ta.clock.advance(5 * 60_000);
    await p.getByLabel(/^Tested at/).fill(new Date(ta.clock.now().getTime() + 8 * 3_600_000 - 60_000).toISOString().slice(0, 16));
  });
  await regulator.reload();
  await fire(regulator, 'Certify', undefined, true);
  const certified = await api.get('certification-cases', k.id, cc.regulator.token);
  t.equal(certified.state, 'certified');
  const number = certified.record.certificate.number as string;
  const pub = await page(t);
  await pub.goto(`${base}/register/certificates/${number}?lang=en`);
  t.match(await pub.textContent('main'), 'This certificate is valid.');
});

t.test('axe on the rest of the workbench: the applicant’s, the admin’s and the regulator’s pages, a decision’s check page, a new token', async (t) => {
  const k = await api.sandboxCase(f.applicant.token, product.id);
  const applicant = await page(t);
  await signIn(applicant, f.applicant.token);
  for (const path of ['/workbench/start', '/workbench/products/new', '/workbench/cases/sandbox-cases/new', `/workbench/cases/sandbox-cases/${k.id}/edit`]) {
    await applicant.goto(`${base}${path}`);
    await accessible(t, applicant, path);
  }
  await api.fire('sandbox-cases', k.id, f.applicant.token, 'SUBMIT');
  await api.fire('sandbox-cases', k.id, f.regulator.token, 'START_REVIEW');
  const regulator = await page(t);
  await signIn(regulator, f.regulator.token);
  await regulator.goto(`${base}/workbench/cases/sandbox-cases/${k.id}/events/REJECT`);
  await regulator.getByLabel(/^Reason/).fill('Out of scope');
  await regulator.getByRole('button', { name: 'Reject: submit' }).click();
  await regulator.getByRole('button', { name: 'Confirm: Reject' }).waitFor();
  await accessible(t, regulator, 'check your answers');
  await regulator.goto(`${base}/workbench/organizations`);
  await accessible(t, regulator, '/workbench/organizations');
  const admin = await page(t);
  await signIn(admin, ta.adminToken);
  for (const path of ['/workbench/organizations/new', '/workbench/principals', '/workbench/principals/new']) {
    await admin.goto(`${base}${path}`);
    await accessible(t, admin, path);
  }
  await admin.getByLabel('Regulator').check();
  await admin.getByRole('button', { name: 'Create a principal' }).last().click();
  await admin.waitForSelector('#new-token');
  await accessible(t, admin, 'the new token');
});

t.test('keyboard: the skip link, then every control reachable with a visible focus; a phone-width page does not scroll sideways', async (t) => {
  const k = await api.sandboxCase(f.applicant.token, product.id);
  const p = await page(t, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await signIn(p, f.applicant.token);
  await p.goto(`${base}/workbench/cases/sandbox-cases/${k.id}/events/WITHDRAW`);
  await p.keyboard.press('Tab');
  t.equal(await p.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  const outlines: string[] = [];
  for (let i = 0; i < 30; i++) {
    await p.keyboard.press('Tab');
    const focused = await p.evaluate(() => `${document.activeElement!.tagName}:${document.activeElement!.textContent?.trim().slice(0, 24)}:${getComputedStyle(document.activeElement!).outlineStyle}`);
    if (focused.startsWith('BODY:')) break;
    outlines.push(focused);
  }
  t.ok(outlines.some((o) => o.startsWith('BUTTON:Withdraw: submit:')), 'the form’s button is reached by Tab');
  t.notOk(outlines.some((o) => o.endsWith(':none')), `every focused control shows an outline: ${outlines.join(', ')}`);
  for (const path of ['/workbench', `/workbench/cases/sandbox-cases/${k.id}`, `/workbench/cases/sandbox-cases/${k.id}/events/WITHDRAW`]) {
    await p.goto(`${base}${path}`);
    const [scroll, width] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    t.ok(scroll <= width, `${path}: ${scroll} ≤ ${width}`);
  }
});

t.test('screenshots of the main pages in both languages, desktop and phone', async (t) => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const k = await api.sandboxCase(f.applicant.token, product.id);
  await api.fire('sandbox-cases', k.id, f.applicant.token, 'SUBMIT');
  await api.fire('sandbox-cases', k.id, f.regulator.token, 'START_REVIEW');
  const devices = { desktop: { viewport: { width: 1280, height: 900 } }, phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } };
  for (const [device, opts] of Object.entries(devices)) {
    for (const lang of ['en', 'zh-Hans'] as const) {
      const p = await page(t, opts);
      await p.goto(`${base}/workbench/sign-in?lang=${lang}`);
      await p.screenshot({ path: `${SCREENSHOTS}/workbench-sign-in.${lang}.${device}.png`, fullPage: true });
      await p.fill('#token', f.regulator.token);
      await Promise.all([p.waitForURL(/\/workbench(\?|$)/), p.click('form.panel button[type=submit]')]);
      await p.screenshot({ path: `${SCREENSHOTS}/workbench-my-work.${lang}.${device}.png`, fullPage: true });
      await p.goto(`${base}/workbench/cases/sandbox-cases/${k.id}?lang=${lang}`);
      await p.screenshot({ path: `${SCREENSHOTS}/workbench-case.${lang}.${device}.png`, fullPage: true });
      await p.goto(`${base}/workbench/cases/sandbox-cases/${k.id}/events/ADMIT?lang=${lang}`);
      await p.click('.form-actions button[type=submit]');
      await p.waitForSelector('#error-summary');
      await p.screenshot({ path: `${SCREENSHOTS}/workbench-form-errors.${lang}.${device}.png`, fullPage: true });
      t.pass(`${lang} ${device}`);
    }
  }
});
