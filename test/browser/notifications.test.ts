import t from 'tap';
import { buildTestApp, fixtures } from '../helpers/app.js';
import { DESKTOP, PHONE, accessible, context, launchBrowser, screenshotsDir, serve, skipUnlessBrowser, type Page } from '../helpers/browser.js';
import { DAY } from '../webhooks/support.js';
import { caseApi } from '../workbench/data.js';

skipUnlessBrowser(t);
const SCREENSHOTS = screenshotsDir('wb-notifications');

const ta = await buildTestApp(t);
const f = await fixtures(ta);
const api = caseApi(ta);
const actor = (await f.principal('applicant', f.applicantOrg.id)).token as string;
const product = await f.product(actor);
const cases: Array<{ id: string; number: string }> = [];
for (let i = 0; i < 2; i++) {
  const c = await api.sandboxCase(actor, product.id);
  await api.fire('sandbox-cases', c.id, actor, 'SUBMIT');
  cases.push(c);
}
await api.fire('sandbox-cases', cases[0].id, f.regulator.token, 'START_REVIEW');
const start = ta.clock.now().getTime();
await api.fire('sandbox-cases', cases[0].id, f.regulator.token, 'REQUEST_INFO', { questions: ['Which sites?'], respond_by: new Date(start + 5 * DAY).toISOString() });
ta.clock.set(new Date(start + 2 * DAY + 60_000));
await ta.app.webhooks.dispatcher.dispatchOnce();
const base = await serve(ta);
const browser = await launchBrowser(t);

async function signedIn(t: Parameters<typeof context>[0], opts: Parameters<typeof context>[2] = {}): Promise<Page> {
  const p = await (await context(t, browser, { locale: 'en-GB', ...DESKTOP, ...opts })).newPage();
  await p.goto(`${base}/workbench`);
  await p.getByLabel(/Access token|访问令牌/).fill(f.applicant.token);
  await Promise.all([p.waitForURL(`${base}/workbench`), p.getByRole('button', { name: /Sign in|登录/ }).click()]);
  return p;
}

t.test('the inbox by keyboard and clicks: the nav link with its count, axe, mark one read, then all', async (t) => {
  const p = await signedIn(t);
  const link = p.getByRole('link', { name: 'Notifications (7 unread)' });
  await Promise.all([p.waitForURL(/\/workbench\/notifications$/), link.click()]);
  t.equal(await p.getByRole('heading', { level: 1 }).textContent(), 'Notifications');
  t.equal(await p.getByRole('table', { name: 'Unread' }).getByRole('row').count(), 8, 'a header row and seven notifications');
  t.match(await p.getByRole('row').nth(1).textContent(), /Reminder: respond by[\s\S]*2 days left/);
  await accessible(t, p, 'notifications');
  await p.screenshot({ path: `${SCREENSHOTS}workbench-notifications.en.desktop.png`, fullPage: true });

  await Promise.all([p.waitForURL(/read=one/), p.getByRole('button', { name: `Mark as read · ${cases[0].number}` }).first().click()]);
  t.equal(await p.evaluate(() => document.activeElement?.textContent), 'The notification is marked as read.', 'focus on what happened');
  t.equal(await p.getByRole('table', { name: 'Read', exact: true }).getByRole('row').count(), 2);
  await accessible(t, p, 'notifications, one read');
  await Promise.all([p.waitForURL(/read=all/), p.getByRole('button', { name: 'Mark all as read' }).click()]);
  t.equal(await p.getByRole('table', { name: 'Unread', exact: true }).count(), 0);
  t.equal(await p.getByRole('link', { name: 'Notifications', exact: true }).count(), 1, 'no count once all are read');
});

t.test('without JavaScript, in Chinese on a phone: opening one goes to its case and marks it read', async (t) => {
  await api.fire('sandbox-cases', cases[1].id, actor, 'WITHDRAW');
  const p = await signedIn(t, { ...PHONE, locale: 'zh-CN', javaScriptEnabled: false });
  await Promise.all([p.waitForURL(/\/workbench\/notifications$/), p.getByRole('link', { name: /^通知\s*（1 条未读）$/ }).click()]);
  await p.screenshot({ path: `${SCREENSHOTS}workbench-notifications.zh-Hans.phone.png`, fullPage: true });
  await Promise.all([p.waitForURL(new RegExp(`/workbench/cases/sandbox-cases/${cases[1].id}$`)), p.getByRole('table', { name: '未读', exact: true }).getByRole('link', { name: cases[1].number }).click()]);
  t.equal(await p.getByRole('link', { name: '通知', exact: true }).count(), 1, 'read: the count is gone');
});
