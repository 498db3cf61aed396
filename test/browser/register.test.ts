import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { DESKTOP, PHONE, context as browserContext, launchBrowser, screenshotsDir, serve, skipUnlessBrowser, type Page } from '../helpers/browser.js';
import { HOLDER_EN, seedRegister } from '../pages/seed.js';

skipUnlessBrowser(t);
const SCREENSHOTS = screenshotsDir('screenshots');

const ta = await buildTestApp(t);
const seed = await seedRegister(ta);
const base = await serve(ta);
const browser = await launchBrowser(t);

/** A browser context whose pages fail the test on a script error, a CSP violation or a request to another origin. */
const context = (t: Parameters<typeof browserContext>[0], opts: Parameters<typeof browserContext>[2]) =>
  browserContext(t, browser, opts, {
    origin: base,
    // The 404 pages this test opens on purpose are the only failed loads allowed.
    allowError: (m) => m.text().includes('404') && m.location().url.includes('GDAIC-1999-'),
  });
const shot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

const colour = (page: Page) => page.$eval('.verdict', (el) => getComputedStyle(el).borderTopColor);

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
