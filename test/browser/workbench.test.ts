import t from 'tap';
import { buildTestApp, fixtures, uniq } from '../helpers/app.js';
import { DESKTOP, PHONE, accessible, context, launchBrowser, screenshotsDir, serve, skipUnlessBrowser, type Page } from '../helpers/browser.js';
import { caseApi } from '../workbench/data.js';
import { certificationCast, sha256 } from '../certification/cast.js';

skipUnlessBrowser(t);
const SCREENSHOTS = screenshotsDir('wb-screenshots');

const ta = await buildTestApp(t);
const f = await fixtures(ta);
const api = caseApi(ta);
const product = await f.product(f.applicant.token);
const base = await serve(ta);
const browser = await launchBrowser(t);

/** A page in a context of its own (its own cookies), in British English unless told; the 4xx answers of refused forms are expected. */
async function page(t: Parameters<typeof context>[0], opts: Parameters<typeof context>[2] = {}): Promise<Page> {
  const ctx = await context(t, browser, { locale: 'en-GB', ...opts }, { allowError: (m) => /status of 4(03|09|00|22)/.test(m.text()) });
  return ctx.newPage();
}

async function signIn(p: Page, token: string) {
  await p.goto(`${base}/workbench`);
  await p.waitForURL(/\/workbench\/sign-in/);
  await p.getByLabel('Access token').fill(token);
  await Promise.all([p.waitForURL(`${base}/workbench`), p.getByRole('button', { name: 'Sign in' }).click()]);
}

/** A datetime-local value in China Standard Time, `days` after the service's now. */
const cst = (days: number) => new Date(ta.clock.now().getTime() + days * 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 16);
const group = (p: Page, name: RegExp | string) => p.getByRole('group', { name: typeof name === 'string' ? new RegExp(`^${name}`) : name });

/** From My work: the start page, then the product form, filled in and sent; back on the start page with the product listed. */
async function registerProduct(p: Page, name: string) {
  await Promise.all([p.waitForURL(/\/workbench\/start/), p.getByRole('link', { name: 'Start an application or register a product' }).click()]);
  await Promise.all([p.waitForURL(/\/workbench\/products\/new/), p.getByRole('link', { name: 'Register a product' }).click()]);
  await p.getByLabel(/^Name/).fill(name);
  await p.getByLabel(/^Version/).fill('1.0');
  await group(p, 'Kind').getByLabel('AI system').check();
  await p.getByLabel(/^Description/).fill('Triage of patient messages for a hospital’s night shift.');
  await p.getByLabel(/^Intended use/).fill('Suggests an urgency for each message; a nurse decides.');
  await group(p, 'Domains').getByLabel('Healthcare').check();
  await group(p, 'Risk level').getByLabel('Medium').check();
  await Promise.all([p.waitForURL(/\/workbench\/start/), p.getByRole('button', { name: 'Register a product' }).click()]);
}

/** From the start page: a new application of `kind`, filled in by `fill`, saved as a draft, then submitted from its case page; answers the case's id. */
async function applyAndSubmit(p: Page, kind: string, fill: (p: Page) => Promise<void>): Promise<string> {
  await Promise.all([p.waitForURL(/\/new$/), p.getByRole('link', { name: `New application: ${kind}` }).click()]);
  await fill(p);
  await Promise.all([p.waitForURL(/saved=1/), p.getByRole('button', { name: 'Save as draft' }).click()]);
  const id = /\/cases\/[a-z-]+\/([0-9a-f-]{36})/.exec(p.url())![1]!;
  await fire(p, 'Submit');
  return id;
}

/** On a case page: the event's button, its form filled in by `fill`, sent (and a decision confirmed on its check page); back on the case page. */
async function fire(p: Page, event: string, fill: (p: Page) => Promise<void> = async () => {}, decision = false) {
  await Promise.all([p.waitForURL(/\/events\/[A-Z_]+$/), p.getByRole('link', { name: event, exact: true }).click()]);
  await fill(p);
  if (decision) {
    await p.getByRole('button', { name: `${event}: submit` }).click();
    await Promise.all([p.waitForURL(/done=/), p.getByRole('button', { name: `Confirm: ${event}` }).click()]);
  } else {
    await Promise.all([p.waitForURL(/done=/), p.getByRole('button', { name: `${event}: submit` }).click()]);
  }
}

/** From My work (reloaded): the case by its number. */
async function openCase(p: Page, kind: string, id: string, number: string) {
  await p.goto(`${base}/workbench`);
  await Promise.all([p.waitForURL(`**/workbench/cases/${kind}/${id}`), p.getByRole('link', { name: number }).click()]);
}

for (const javaScriptEnabled of [true, false]) {
  t.test(`sandbox admission by clicking and typing only: the applicant registers a product and applies, the regulator asks, the applicant answers, the regulator admits (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async (t) => {
    const axe = async (p: Page, what: string) => {
      if (javaScriptEnabled) await accessible(t, p, what);
    };
    const org = await f.org();
    const who = await f.principal('applicant', org.id);
    const productName = `Triage Assistant ${uniq()}`;

    const applicant = await page(t, { javaScriptEnabled });
    await applicant.goto(`${base}/workbench/sign-in`);
    await axe(applicant, 'sign-in');
    await signIn(applicant, who.token);
    await registerProduct(applicant, productName);
    t.ok(await applicant.getByText(`${productName} 1.0`).isVisible(), 'the product is listed on the start page');
    const id = await applyAndSubmit(applicant, 'Regulatory sandbox admission', async (p) => {
      await p.getByLabel(`${productName} 1.0`).check();
      await group(p, 'Scenarios').getByLabel(/Item 1/).fill('Night-shift triage of patient messages');
      await group(p, 'Regions').getByLabel(/Item 1/).fill('Guangzhou Tianhe');
      await p.getByLabel(/^Maximum users/).fill('200');
      await p.getByLabel(/^Duration \(months\)/).fill('12');
      await group(p, 'Risks').getByLabel(/^Description/).fill('An urgent message rated routine');
      await group(p, 'Risks').getByLabel('High').check();
      await group(p, 'Safeguards').getByLabel(/Item 1/).fill('A nurse reads every message within an hour');
      await group(p, 'Contact person').getByLabel(/^Name/).fill('Chen Jing');
      await group(p, 'Contact person').getByLabel(/^Email/).fill('chen.jing@example.cn');
      await axe(p, 'new application, filled in');
    });
    t.match(await applicant.textContent('main'), 'Done: Submit.');
    const submitted = await api.get('sandbox-cases', id, f.regulator.token);
    t.equal(submitted.state, 'submitted');
    t.equal(submitted.application.test_scope.max_users, 200, 'numbers typed are stored as numbers');
    t.same(submitted.application.risks, [{ description: 'An urgent message rated routine', level: 'high' }]);

    const regulator = await page(t, { javaScriptEnabled });
    await signIn(regulator, f.regulator.token);
    await axe(regulator, 'my work');
    await openCase(regulator, 'sandbox-cases', id, submitted.number);
    await axe(regulator, 'case page');
    await fire(regulator, 'Start review');
    t.match(await regulator.textContent('main'), 'Done: Start review.');
    await Promise.all([regulator.waitForURL(/events\/REQUEST_INFO$/), regulator.getByRole('link', { name: 'Request information' }).click()]);
    // Submitted empty: the errors, linked from the summary, beside their fields.
    await regulator.getByRole('button', { name: 'Request information: submit' }).click();
    await regulator.waitForSelector('#error-summary');
    t.match(await regulator.title(), /^Error: /);
    await axe(regulator, 'event form with errors');
    await regulator.getByLabel(/Item 1/).fill('Which wards are in scope?');
    await regulator.getByRole('button', { name: 'Add another' }).click();
    await regulator.getByLabel(/Item 2/).fill('Who reads the messages at night?');
    t.equal(await regulator.getByLabel(/Item 1/).inputValue(), 'Which wards are in scope?', 'the first row kept');
    await regulator.getByLabel(/Respond by/).fill(cst(14));
    await Promise.all([regulator.waitForURL(/done=REQUEST_INFO/), regulator.getByRole('button', { name: 'Request information: submit' }).click()]);
    t.equal((await api.get('sandbox-cases', id, f.regulator.token)).state, 'info_requested');

    await openCase(applicant, 'sandbox-cases', id, submitted.number);
    await fire(applicant, 'Provide information', async (p) => {
      await group(p, 'Answers').getByLabel(/Item 1/).fill('Two wards: emergency and cardiology.');
      await p.getByRole('button', { name: 'Add another' }).click();
      await group(p, 'Answers').getByLabel(/Item 2/).fill('The night-shift nurse in charge.');
      await axe(p, 'answers form');
    });
    t.equal((await api.get('sandbox-cases', id, f.regulator.token)).state, 'under_review', 'the answers go back to the regulator');

    await regulator.reload();
    await fire(
      regulator,
      'Admit',
      async (p) => {
        await group(p, 'Conditions').getByLabel(/Item 1/).fill('A monthly report of every message rated routine that was urgent');
        await group(p, 'Testing period').getByLabel(/^Start/).fill(cst(7));
        await group(p, 'Testing period').getByLabel(/^End/).fill(cst(7 + 365));
      },
      true,
    );
    t.match(await regulator.textContent('main'), 'Done: Admit.');
    const admitted = await api.get('sandbox-cases', id, f.regulator.token);
    t.equal(admitted.state, 'admitted');
    t.same(admitted.record.admission.conditions, ['A monthly report of every message rated routine that was urgent']);
    const answers = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${id}/events?type=PROVIDE_INFO`, token: f.regulator.token })).json().items[0];
    t.same(answers.payload.answers, ['Two wards: emergency and cardiology.', 'The night-shift nurse in charge.']);
  });
}

t.test('a certification by clicking and typing only: the applicant registers a product and applies, the regulator assigns the lab, the lab posts results, the regulator certifies, the register shows the certificate', async (t) => {
  const cc = await certificationCast(ta);
  const lab = await cc.lab(['ai-safety-risk'], undefined, `Journey Lab ${uniq()}`);
  const criteria = await cc.criteria('ai-safety-risk');
  const productName = `Risk Scorer ${uniq()}`;

  const applicant = await page(t);
  await signIn(applicant, cc.applicant.token);
  await registerProduct(applicant, productName);
  const id = await applyAndSubmit(applicant, 'Safety and ethics certification', async (p) => {
    await p.getByLabel(`${productName} 1.0`).check();
    await group(p, 'Scheme').getByLabel('AI system safety risk assessment').check();
    await group(p, 'Standards').getByLabel(/Item 1/).fill('GB/T 45288.2-2025');
    await p.getByLabel(/^Declared scope/).fill('Risk Scorer 1.0 as deployed on the hospital’s message portal');
  });
  const k = await api.get('certification-cases', id, cc.regulator.token);
  t.equal(k.state, 'submitted');

  const regulator = await page(t);
  await signIn(regulator, cc.regulator.token);
  await openCase(regulator, 'certification-cases', id, k.number);
  await fire(regulator, 'Assign lab', (p) => p.getByLabel(lab.org.name).check());
  const labPage = await page(t);
  await signIn(labPage, lab.token);
  await openCase(labPage, 'certification-cases', id, k.number);
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
  const certified = await api.get('certification-cases', id, cc.regulator.token);
  t.equal(certified.state, 'certified');
  t.equal(certified.application.declared_scope, 'Risk Scorer 1.0 as deployed on the hospital’s message portal');
  const number = certified.record.certificate.number as string;
  const pub = await page(t);
  await pub.goto(`${base}/register/certificates/${number}?lang=en`);
  t.match(await pub.textContent('main'), 'This certificate is valid.');
  t.match(await pub.textContent('main'), productName);
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
  const k = await api.sandboxCase(f.applicant.token, product.id);
  await api.fire('sandbox-cases', k.id, f.applicant.token, 'SUBMIT');
  await api.fire('sandbox-cases', k.id, f.regulator.token, 'START_REVIEW');
  const devices = { desktop: DESKTOP, phone: PHONE };
  for (const [device, opts] of Object.entries(devices)) {
    for (const lang of ['en', 'zh-Hans'] as const) {
      const p = await page(t, opts);
      await p.goto(`${base}/workbench/sign-in?lang=${lang}`);
      await p.screenshot({ path: `${SCREENSHOTS}workbench-sign-in.${lang}.${device}.png`, fullPage: true });
      await p.fill('#token', f.regulator.token);
      await Promise.all([p.waitForURL(/\/workbench(\?|$)/), p.click('form.panel button[type=submit]')]);
      await p.screenshot({ path: `${SCREENSHOTS}workbench-my-work.${lang}.${device}.png`, fullPage: true });
      await p.goto(`${base}/workbench/cases/sandbox-cases/${k.id}?lang=${lang}`);
      await p.screenshot({ path: `${SCREENSHOTS}workbench-case.${lang}.${device}.png`, fullPage: true });
      await p.goto(`${base}/workbench/cases/sandbox-cases/${k.id}/events/ADMIT?lang=${lang}`);
      await p.click('.form-actions button[type=submit]');
      await p.waitForSelector('#error-summary');
      await p.screenshot({ path: `${SCREENSHOTS}workbench-form-errors.${lang}.${device}.png`, fullPage: true });
      t.pass(`${lang} ${device}`);
    }
  }
});
