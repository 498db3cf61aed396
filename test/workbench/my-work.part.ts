import { buildTestApp, fixtures } from '../helpers/app.js';
import { WbClient } from './client.js';
import { caseApi } from './data.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const { app, clock } = ta;
  const f = await fixtures(ta);
  const api = caseApi(ta);
  const product = await f.product(f.applicant.token);
  const otherProduct = await f.product(f.otherApplicant.token);

  // The applicant's cases: an old draft, a submitted one, and one whose information request runs out in 3 days.
  const draft = await api.sandboxCase(f.applicant.token, product.id);
  clock.advance(60_000);
  const submitted = await api.sandboxCase(f.applicant.token, product.id);
  await api.fire('sandbox-cases', submitted.id, f.applicant.token, 'SUBMIT');
  clock.advance(60_000);
  const asked = await api.sandboxCase(f.applicant.token, product.id);
  await api.fire('sandbox-cases', asked.id, f.applicant.token, 'SUBMIT');
  await api.fire('sandbox-cases', asked.id, f.regulator.token, 'START_REVIEW');
  const respondBy = new Date(clock.now().getTime() + 3 * 86_400_000 + 3_600_000).toISOString();
  await api.fire('sandbox-cases', asked.id, f.regulator.token, 'REQUEST_INFO', { questions: ['Which sites?'], respond_by: respondBy });
  const othersDraft = await api.sandboxCase(f.otherApplicant.token, otherProduct.id);

  const signedIn = async (token: string) => {
    const c = new WbClient(app, { 'accept-language': 'en' });
    await c.signIn(token);
    return c;
  };
  const numbersIn = (body: string) => [...body.matchAll(/<th scope="row" data-label="Number"><a href="\/workbench\/cases\/[a-z-]+\/[0-9a-f-]+">([A-Z]+-\d{4}-\d{6})<\/a>/g)].map((m) => m[1]);

  t.test('an applicant sees its own cases where it may act, the nearest deadline first, with the time left', async (t) => {
    const c = await signedIn(f.applicant.token);
    const res = await c.get('/workbench');
    t.equal(res.statusCode, 200);
    const numbers = numbersIn(res.body);
    t.same(numbers, [asked.number, draft.number, submitted.number], 'the case with a deadline first, then the longest waiting');
    t.notOk(numbers.includes(othersDraft.number), 'never another organization’s case');
    t.match(res.body, /3 days left/);
    t.match(res.body, /Provide information/i);
  });

  t.test('a regulator sees the cases waiting for a regulator, whichever organization, and not drafts', async (t) => {
    const c = await signedIn(f.regulator.token);
    const numbers = numbersIn((await c.get('/workbench')).body);
    t.ok(numbers.includes(submitted.number), 'a submitted case waits for review');
    t.notOk(numbers.includes(draft.number));
    t.notOk(numbers.includes(asked.number), 'an information request waits for the applicant');
  });

  t.test('filters by kind and state, and keyset pages', async (t) => {
    const c = await signedIn(f.applicant.token);
    t.same(numbersIn((await c.get('/workbench?state=draft')).body), [draft.number]);
    t.same(numbersIn((await c.get('/workbench?kind=certification-cases')).body), []);
    const first = await c.get('/workbench?limit=2');
    t.same(numbersIn(first.body), [asked.number, draft.number]);
    const next = /<a href="([^"]+)" rel="next">/.exec(first.body)?.[1]?.replace(/&amp;/g, '&');
    t.ok(next, 'a next-page link');
    const second = await c.get(next!);
    t.same(numbersIn(second.body), [submitted.number]);
    t.notMatch(second.body, /rel="next"/);
    const bad = await c.get('/workbench?cursor=bm9wZQ');
    t.equal(bad.statusCode, 400, 'a cursor the service did not issue');
    t.match(bad.headers['content-type'], /text\/html/);
  });

  t.test('an overdue deadline says so; an admin has no case work', async (t) => {
    clock.advance(4 * 86_400_000);
    const c = await signedIn(f.applicant.token);
    t.match((await c.get('/workbench')).body, /overdue by (1 day|2[0-9] hours)/);
    const admin = await signedIn(ta.adminToken);
    t.match((await admin.get('/workbench')).body, /Nothing is waiting for you/);
  });

  t.test('Chinese by default', async (t) => {
    const c = new WbClient(app);
    await c.signIn(f.applicant.token);
    const res = await c.get('/workbench');
    t.match(res.body, /<html lang="zh-Hans">/);
    t.match(res.body, /我的待办/);
  });

  t.test('an applicant owes a periodic report a month after testing started or after its last report', async (t) => {
    const k = await api.sandboxCase(f.applicant.token, product.id);
    await api.fire('sandbox-cases', k.id, f.applicant.token, 'SUBMIT');
    await api.fire('sandbox-cases', k.id, f.regulator.token, 'START_REVIEW');
    const start = new Date(clock.now().getTime() + 60_000);
    const end = new Date(start.getTime() + 300 * 86_400_000);
    await api.fire('sandbox-cases', k.id, f.regulator.token, 'ADMIT', { conditions: ['Monthly reports'], testing_period: { start: start.toISOString(), end: end.toISOString() } });
    clock.advance(120_000);
    await api.fire('sandbox-cases', k.id, f.applicant.token, 'START_TESTING');
    clock.advance(40 * 86_400_000);
    const c = await signedIn(f.applicant.token);
    const owed = await c.get('/workbench?state=testing');
    t.same(numbersIn(owed.body), [k.number]);
    t.match(owed.body, /Periodic report due<br><time[^>]*>[^<]*<\/time><br><span class="time-left overdue">overdue by (9|10) days/);
    t.notMatch((await (await signedIn(f.regulator.token)).get('/workbench?state=testing')).body, /Periodic report due/, 'the regulator owes no report');
    await api.fire('sandbox-cases', k.id, f.applicant.token, 'SUBMIT_REPORT', {
      period_start: start.toISOString(),
      period_end: new Date(clock.now().getTime() - 3_600_000).toISOString(),
      summary: 'First month',
    });
    const after = await c.get('/workbench?state=testing');
    t.match(after.body, /Periodic report due<br><time[^>]*>[^<]*<\/time><br><span class="time-left">(29|30|31) days left/);
  });
});
