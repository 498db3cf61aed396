import { buildTestApp, fixtures } from '../helpers/app.js';
import { WbClient } from './client.js';
import { submittedFields } from './form-fields.js';
import { caseApi, sandboxApplication } from './data.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  const f = await fixtures(ta);
  const api = caseApi(ta);

  const signedIn = async (token: string) => {
    const w = new WbClient(app, { 'accept-language': 'en' });
    await w.signIn(token);
    return w;
  };
  const applicant = await signedIn(f.applicant.token);

  /** The fields of a page's form as the browser would send them, some changed. */
  const filled = (page: string, changes: Record<string, string | string[]> = {}) => {
    const start = page.indexOf('<form class="schema-form"');
    return { ...submittedFields(page.slice(start, page.indexOf('</form>', start))), ...changes } as Record<string, string | string[]>;
  };
  const productsOf = async () => (await ta.req({ method: 'GET', url: '/v1/products', token: f.applicant.token })).json().items;

  t.test('an applicant registers a product through the form generated from its schema', async (t) => {
    const start = await applicant.get('/workbench/start');
    t.match(start.body, /Your organization has no product yet/);
    const form = await applicant.get('/workbench/products/new');
    t.equal(form.statusCode, 200);
    const bad = await applicant.post('/workbench/products/new', filled(form.body, { name: '', version: '1.0', kind: 'robot', risk_level: 'high' }));
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /<a href="#f_name">Name: Enter this<\/a>/);
    t.match(bad.body, /<a href="#f_robot">Robot: Enter this<\/a>/, 'the schema’s rule (a robot needs its robot block) beside the robot group');
    t.match(bad.body, /name="kind" value="robot" checked/, 'the choice kept');
    t.same(await productsOf(), [], 'nothing stored');
    const ok = await applicant.post(
      '/workbench/products/new',
      filled(form.body, {
        name: 'PatrolBot',
        version: '2.1',
        kind: 'robot',
        description: 'An autonomous patrol robot',
        intended_use: 'Night inspection rounds',
        domains: ['industry', 'public_safety'],
        risk_level: 'medium',
        'robot.payload_kg': '15',
        'robot.max_speed_mps': '1.5',
        'robot.operating_environment': 'Fenced industrial sites',
        'robot.human_collaboration': 'false',
      }),
    );
    t.equal(ok.statusCode, 303);
    const [p] = await productsOf();
    t.match(p, { name: 'PatrolBot', version: '2.1', kind: 'robot', domains: ['industry', 'public_safety'], robot: { payload_kg: 15, max_speed_mps: 1.5, human_collaboration: false } });
    t.match((await applicant.get('/workbench/start')).body, /PatrolBot 2.1/);
  });

  t.test('an applicant starts a sandbox application as a draft, edits it, and submits it', async (t) => {
    const [p] = await productsOf();
    const form = await applicant.get('/workbench/cases/sandbox-cases/new');
    t.match(form.body, new RegExp(`value="${p.id}"`), 'its products are the choices');
    const empty = await applicant.post('/workbench/cases/sandbox-cases/new', filled(form.body));
    t.equal(empty.statusCode, 400);
    t.match(empty.body, /<a href="#f_scenarios">Scenarios: Enter this<\/a>/);
    const app1 = sandboxApplication(p.id);
    const created = await applicant.post(
      '/workbench/cases/sandbox-cases/new',
      filled(form.body, {
        product_id: p.id,
        'scenarios[0]': app1.scenarios[0]!,
        'test_scope.regions[0]': 'Shenzhen Qianhai',
        'test_scope.max_users': '50',
        'test_scope.duration_months': '12',
        'risks[0].description': 'Collision with staff',
        'risks[0].level': 'medium',
        'safeguards[0]': 'Speed limited near people',
        'contact.name': 'Li Wei',
        'contact.email': 'li.wei@example.cn',
      }),
    );
    t.equal(created.statusCode, 303);
    const location = String(created.headers.location);
    t.match(location, /^\/workbench\/cases\/sandbox-cases\/[0-9a-f-]+\?saved=1$/);
    const id = location.split('/')[4]!.split('?')[0]!;
    const stored = await api.get('sandbox-cases', id, f.applicant.token);
    t.equal(stored.state, 'draft');
    t.same(stored.application, app1, 'the application as the API would have stored it');
    const page = await applicant.get(location);
    t.match(page.body, /saved as a draft/);
    t.match(page.body, /\/edit">Edit the application</);

    const edit = await applicant.get(`/workbench/cases/sandbox-cases/${id}/edit`);
    t.match(edit.body, /Night patrol of a substation/, 'the form starts from the stored application');
    const saved = await applicant.post(`/workbench/cases/sandbox-cases/${id}/edit`, filled(edit.body, { 'scenarios[0]': 'Night patrol of two substations' }));
    t.equal(saved.statusCode, 303);
    const after = await api.get('sandbox-cases', id, f.applicant.token);
    t.same(after.application.scenarios, ['Night patrol of two substations']);
    t.equal(after.version, stored.version + 1);

    const staleForm = await applicant.get(`/workbench/cases/sandbox-cases/${id}/edit`);
    t.equal((await ta.req({ method: 'PATCH', url: `/v1/sandbox-cases/${id}`, token: f.applicant.token, payload: sandboxApplication(p.id) })).statusCode, 200);
    const current = await api.get('sandbox-cases', id, f.applicant.token);
    const stale = await applicant.post(`/workbench/cases/sandbox-cases/${id}/edit`, filled(staleForm.body, { 'scenarios[0]': 'Overwritten?' }));
    t.equal(stale.statusCode, 303);
    t.match((await applicant.get(String(stale.headers.location))).body, /Someone else changed this case/);
    t.same(await api.get('sandbox-cases', id, f.applicant.token), current, 'the other change stands');

    const submit = await applicant.get(`/workbench/cases/sandbox-cases/${id}/events/SUBMIT`);
    const done = await applicant.post(`/workbench/cases/sandbox-cases/${id}/events/SUBMIT`, submittedFields(submit.body.slice(submit.body.indexOf('<form class="event-form"'))));
    t.equal(done.statusCode, 303);
    t.equal((await api.get('sandbox-cases', id, f.applicant.token)).state, 'submitted');
    t.notMatch((await applicant.get(`/workbench/cases/sandbox-cases/${id}`)).body, /Edit the application/, 'no edit once submitted');
  });

  t.test('the applicant pages are an applicant’s', async (t) => {
    const regulator = await signedIn(f.regulator.token);
    t.equal((await regulator.get('/workbench/products/new')).statusCode, 403);
    t.equal((await regulator.get('/workbench/cases/sandbox-cases/new')).statusCode, 403);
    t.equal((await regulator.get('/workbench/start')).statusCode, 403);
  });
});
