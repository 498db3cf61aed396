import { buildTestApp } from '../helpers/app.js';
import { certificationCast, sha256 } from '../certification/cast.js';
import { WbClient, csrfOf } from './client.js';
import { submittedFields } from './form-fields.js';
import { caseApi } from './data.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const { app, clock } = ta;
  const c = await certificationCast(ta);
  const api = caseApi(ta);
  const product = await c.product(c.applicant.token);

  const signedIn = async (token: string) => {
    const w = new WbClient(app, { 'accept-language': 'en' });
    const res = await w.signIn(token);
    if (res.statusCode !== 303) throw new Error(`sign-in: ${res.statusCode}`);
    return w;
  };
  const regulator = await signedIn(c.regulator.token);
  const applicant = await signedIn(c.applicant.token);
  const stored = (id: string) => app.db.selectFrom('cases').select(['state', 'version']).where('id', '=', id).executeTakeFirstOrThrow();
  const events = async (id: string) => Number((await app.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('chain_id', '=', id).executeTakeFirstOrThrow()).n);

  /** The form on a page as the browser would post it, with some fields changed. */
  function filled(page: string, changes: Record<string, string | string[]> = {}): Record<string, string | string[]> {
    const start = page.indexOf('<form class="event-form"');
    const fields: Record<string, string | string[]> = submittedFields(page.slice(start, page.indexOf('</form>', start)));
    return { ...fields, ...changes };
  }
  const formAction = (page: string) => /<form class="event-form" method="post" action="([^"]+)"/.exec(page)![1]!;

  async function submittedCase() {
    const k = await api.sandboxCase(c.applicant.token, product.id);
    await api.fire('sandbox-cases', k.id, c.applicant.token, 'SUBMIT');
    return k;
  }

  t.test('the case page: sections in words, deadlines, the history with hashes, and one button per event the person may fire', async (t) => {
    const k = await submittedCase();
    const page = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}`);
    t.equal(page.statusCode, 200);
    t.match(page.body, new RegExp(`<h1>${k.number} <span class="badge s-state" data-state="submitted">`));
    t.match(page.body, /<dt>Test scope<\/dt><dd><dl class="facts"><dt>Regions<\/dt><dd><ul class="plain"><li>Shenzhen Qianhai<\/li>/, 'the application as nested definition lists');
    t.notMatch(page.body, /\{&quot;|\{"/, 'no raw JSON');
    t.match(page.body, /<dt>Level<\/dt><dd>Medium<\/dd>/, 'a choice by its label');
    t.match(page.body, /<a class="button" href="\/workbench\/cases\/sandbox-cases\/[0-9a-f-]+\/events\/START_REVIEW">Start review<\/a>/);
    const history = await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${k.id}/events`, token: c.regulator.token });
    for (const e of history.json().items) t.match(page.body, `<code class="hash">${e.hash}</code>`);
    const mine = await applicant.get(`/workbench/cases/sandbox-cases/${k.id}`);
    t.match(mine.body, /events\/WITHDRAW">Withdraw/);
    t.notMatch(mine.body, /events\/START_REVIEW/, 'an applicant is not offered the regulator’s events');
    const other = await signedIn(c.otherApplicant.token);
    t.equal((await other.get(`/workbench/cases/sandbox-cases/${k.id}`)).statusCode, 404, 'another organization’s case does not exist for it');
    t.equal((await regulator.get(`/workbench/cases/sandbox-cases/not-a-uuid`)).statusCode, 404);
  });

  t.test('an event without a payload, then one with a form: fired through the engine, the audit event written', async (t) => {
    const k = await submittedCase();
    const form = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/START_REVIEW`);
    t.equal(form.statusCode, 200);
    const done = await regulator.post(formAction(form.body), filled(form.body));
    t.equal(done.statusCode, 303);
    t.match(String(done.headers.location), /\?done=START_REVIEW$/);
    t.same(await stored(k.id), { state: 'under_review', version: 3 });
    t.match((await regulator.get(String(done.headers.location))).body, /Done: Start review/);

    const ask = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/REQUEST_INFO`);
    t.match(ask.body, /<input type="datetime-local" step="1" id="f_respond_by" name="respond_by" value=""/);
    const due = new Date(clock.now().getTime() + 10 * 86_400_000);
    const local = new Date(due.getTime() + 8 * 3_600_000).toISOString().slice(0, 16);
    const res = await regulator.post(formAction(ask.body), filled(ask.body, { 'questions[0]': 'Which sites exactly?', respond_by: local }));
    t.equal(res.statusCode, 303);
    const after = await api.get('sandbox-cases', k.id, c.regulator.token);
    t.equal(after.state, 'info_requested');
    t.equal(new Date(after.deadlines.respond_by).getTime(), Math.floor(due.getTime() / 60_000) * 60_000, 'the time typed in China time is the instant stored');
    const last = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${k.id}/events?type=REQUEST_INFO`, token: c.regulator.token })).json().items[0];
    t.same(last.payload.questions, ['Which sites exactly?']);
    t.equal(last.actor.principal_id, c.regulator.id);
  });

  t.test('a refused form comes back with the input kept and each error beside its field; nothing changes', async (t) => {
    const k = await submittedCase();
    await api.fire('sandbox-cases', k.id, c.regulator.token, 'START_REVIEW');
    const before = { row: await stored(k.id), events: await events(k.id) };
    const form = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/ADMIT`);
    const res = await regulator.post(formAction(form.body), filled(form.body, { 'testing_period.start': '2027-01-01T09:00', 'testing_period.end': 'soon', 'conditions[0]': '' }));
    t.equal(res.statusCode, 400);
    t.match(res.body, /<title>Error: Admit/);
    t.match(res.body, /<h2 id="error-summary-title">There is a problem<\/h2>/);
    t.match(res.body, /<a href="#f_conditions">Conditions: Enter this<\/a>/);
    t.match(res.body, /id="f_testing_period-2e-end-error"><span class="visually-hidden">Error: <\/span>Enter a date and time/);
    t.match(res.body, /name="testing_period.end" value="soon"/, 'what was typed is kept');
    t.match(res.body, /name="testing_period.start" value="2027-01-01T09:00"/);
    t.same({ row: await stored(k.id), events: await events(k.id) }, before);

    const review = await regulator.post(formAction(form.body), filled(form.body, { 'conditions[0]': 'Monthly reports', 'testing_period.start': '2027-06-01T09:00', 'testing_period.end': '2027-01-01T09:00' }));
    t.equal(review.statusCode, 200, 'a decision is checked first');
    t.match(review.body, /Check your answers before you decide/);
    t.same({ row: await stored(k.id), events: await events(k.id) }, before, 'nothing written by the check');
    const rule = await regulator.post(/<form method="post" action="([^"]+)"/.exec(review.body.slice(review.body.indexOf('<main')))![1]!, submittedFields(review.body.slice(review.body.indexOf('<main'))));
    t.equal(rule.statusCode, 422, 'a rule of the machine refuses it on confirmation');
    t.match(rule.body, /A rule refused this:/);
    t.match(rule.body, />Monthly reports<\/textarea>/);
    t.same({ row: await stored(k.id), events: await events(k.id) }, before);

    const more = await regulator.post(formAction(form.body), filled(form.body, { 'conditions[0]': 'Monthly reports', _add: 'conditions' }));
    t.equal(more.statusCode, 200, '"add another" is not a submission');
    t.match(more.body, /name="conditions\[1\]"/);
    t.match(more.body, />Monthly reports<\/textarea>/);
    t.same({ row: await stored(k.id), events: await events(k.id) }, before);
  });

  t.test('a decision: check your answers, change them, then confirm', async (t) => {
    const k = await submittedCase();
    await api.fire('sandbox-cases', k.id, c.regulator.token, 'START_REVIEW');
    const form = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/REJECT`);
    const review = await regulator.post(formAction(form.body), filled(form.body, { reason: 'Out of scope' }));
    t.equal(review.statusCode, 200);
    const main = review.body.slice(review.body.indexOf('<main'));
    t.match(main, new RegExp(`${k.number}`));
    t.match(main, /<dt>Reason<\/dt><dd>Out of scope<\/dd>/);
    const action = /<form method="post" action="([^"]+)"/.exec(main)![1]!;
    const again = await regulator.post(action, { ...submittedFields(main), _edit: '1' });
    t.match(again.body, />Out of scope<\/textarea>/, '"change" goes back to the form, filled in');
    t.equal((await stored(k.id)).state, 'under_review');
    const done = await regulator.post(action, submittedFields(main));
    t.equal(done.statusCode, 303);
    t.equal((await stored(k.id)).state, 'rejected');
  });

  t.test('a stale form says someone else moved the case and shows it as it is now; nothing changes', async (t) => {
    const k = await submittedCase();
    await api.fire('sandbox-cases', k.id, c.regulator.token, 'START_REVIEW');
    const form = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/REJECT`);
    await api.fire('sandbox-cases', k.id, c.regulator.token, 'REQUEST_INFO', { questions: ['?'], respond_by: new Date(clock.now().getTime() + 86_400_000).toISOString() });
    await api.fire('sandbox-cases', k.id, c.applicant.token, 'PROVIDE_INFO', { answers: ['!'] });
    const before = { row: await stored(k.id), events: await events(k.id) };
    t.equal(before.row.state, 'under_review', 'REJECT is possible again, but on a case the form did not see');
    const res = await regulator.post(formAction(form.body), filled(form.body, { reason: 'Not in scope' }));
    t.equal(res.statusCode, 409);
    t.match(res.body, /Someone else changed this case while you were filling in the form/);
    t.match(res.body, /<dt>Version<\/dt><dd>5<\/dd>/, 'the case as it is now');
    t.match(res.body, /Provide information/, 'with what happened meanwhile in its history');
    t.same({ row: await stored(k.id), events: await events(k.id) }, before);
  });

  t.test('an event the state does not allow shows what can be done instead (409)', async (t) => {
    const k = await submittedCase();
    const form = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/START_REVIEW`);
    await api.fire('sandbox-cases', k.id, c.regulator.token, 'START_REVIEW');
    const now = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/START_REVIEW`);
    t.equal(now.statusCode, 409);
    t.match(now.body, /“Start review” cannot be done in the case’s current state/);
    t.match(now.body, /events\/ADMIT">Admit/, 'the events possible now');
    const before = { row: await stored(k.id), events: await events(k.id) };
    const fields = filled(form.body, { _version: String(before.row.version) });
    const res = await regulator.post(formAction(form.body), fields);
    t.equal(res.statusCode, 409);
    t.same({ row: await stored(k.id), events: await events(k.id) }, before);
  });

  t.test('an event the role may not fire is a 403, and nothing changes', async (t) => {
    const k = await submittedCase();
    await api.fire('sandbox-cases', k.id, c.regulator.token, 'START_REVIEW');
    const before = { row: await stored(k.id), events: await events(k.id) };
    t.equal((await applicant.get(`/workbench/cases/sandbox-cases/${k.id}/events/ADMIT`)).statusCode, 403);
    const page = await applicant.get(`/workbench/cases/sandbox-cases/${k.id}`);
    const res = await applicant.post(`/workbench/cases/sandbox-cases/${k.id}/events/ADMIT`, {
      _csrf: csrfOf(page.body),
      _version: String(before.row.version),
      'conditions[0]': 'none',
      '_rows.conditions': '1',
      'testing_period.start': '2027-01-01T09:00',
      'testing_period.end': '2027-06-01T09:00',
    });
    t.equal(res.statusCode, 403);
    t.match(res.body, /Your role may not do this/);
    t.same({ row: await stored(k.id), events: await events(k.id) }, before);
  });

  t.test('a form posted without its CSRF token is refused (403) and nothing changes', async (t) => {
    const k = await submittedCase();
    const form = await regulator.get(`/workbench/cases/sandbox-cases/${k.id}/events/START_REVIEW`);
    const before = { row: await stored(k.id), events: await events(k.id) };
    const { _csrf: _dropped, ...rest } = filled(form.body);
    t.equal((await regulator.post(formAction(form.body), rest)).statusCode, 403);
    t.equal((await regulator.post(formAction(form.body), { ...rest, _csrf: 'forged-token' })).statusCode, 403);
    // A token from another browser's session is not this one's.
    t.equal((await regulator.post(formAction(form.body), { ...rest, _csrf: csrfOf((await applicant.get('/workbench')).body) })).statusCode, 403);
    t.same({ row: await stored(k.id), events: await events(k.id) }, before);
  });

  t.test('a lab’s results form lists the scheme’s criteria, and its rows post an array of results', async (t) => {
    const lab = await c.lab(['ai-safety-risk']);
    const k = await c.createCase(product, 'ai-safety-risk');
    c.ok(await c.fire(c.applicant.token, k.id, 'SUBMIT'));
    c.ok(await c.fire(c.regulator.token, k.id, 'ASSIGN_LAB', { lab_id: lab.org.id }));
    c.ok(await c.fire(lab.token, k.id, 'ACCEPT_ASSIGNMENT'));
    const criteria = await c.criteria('ai-safety-risk');
    const w = await signedIn(lab.token);
    const home = await w.get('/workbench');
    t.match(home.body, k.number, 'the case is in the lab’s work');
    const form = await w.get(`/workbench/cases/certification-cases/${k.id}/events/POST_RESULTS`);
    t.equal(form.statusCode, 200);
    const shown = filled(form.body);
    criteria.forEach((cr, i) => t.same(shown[`results[${i}].criterion_id`], [cr.id], `row ${i + 1} is ${cr.id}`));
    for (const cr of criteria) t.match(form.body, `>${cr.title}${cr.mandatory ? ' *' : ''}<`, `${cr.id} by its English title${cr.mandatory ? ', marked mandatory' : ''}`);
    for (const cr of criteria) t.notMatch(form.body, cr.title_zh!, `${cr.id}: not its Chinese title on the English page`);
    const changes: Record<string, string> = { summary: 'All criteria passed', report_sha256: sha256('report'), tested_at: new Date(clock.now().getTime() + 8 * 3_600_000 - 3_600_000).toISOString().slice(0, 16) };
    criteria.forEach((_cr, i) => (changes[`results[${i}].verdict`] = 'pass'));
    const res = await w.post(formAction(form.body), filled(form.body, changes));
    t.equal(res.statusCode, 303, res.statusCode === 303 ? '' : res.body.slice(res.body.indexOf('error-summary'), res.body.indexOf('error-summary') + 800));
    const after = await api.get('certification-cases', k.id, lab.token);
    t.equal(after.state, 'results_posted');
    const posted = (await ta.req({ method: 'GET', url: `/v1/certification-cases/${k.id}/events?type=POST_RESULTS`, token: lab.token })).json().items[0].payload;
    t.same(posted.results.map((r: { criterion_id: string }) => r.criterion_id), criteria.map((cr) => cr.id));
    t.ok(posted.results.every((r: Record<string, unknown>) => r.verdict === 'pass' && !('notes' in r)), 'blank optional fields are left out');
  });
});
