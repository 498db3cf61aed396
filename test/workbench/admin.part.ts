import { buildTestApp, fixtures, makeCreditCode } from '../helpers/app.js';
import { WbClient } from './client.js';
import { submittedFields } from './form-fields.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const { app, req } = ta;
  const f = await fixtures(ta);
  const signedIn = async (token: string) => {
    const w = new WbClient(app, { 'accept-language': 'en' });
    await w.signIn(token);
    return w;
  };
  const admin = await signedIn(ta.adminToken);
  const regulator = await signedIn(f.regulator.token);
  const filled = (page: string, changes: Record<string, string | string[]> = {}) => {
    const start = page.indexOf('<form class="schema-form"');
    return { ...submittedFields(page.slice(start, page.indexOf('</form>', start))), ...changes } as Record<string, string | string[]>;
  };
  const orgNamed = (name: string) => app.db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst();

  t.test('an admin registers a lab, creates its principal (the token shown once), a regulator accredits it, the admin revokes the principal', async (t) => {
    const form = await admin.get('/workbench/organizations/new');
    t.equal(form.statusCode, 200);
    const code = makeCreditCode();
    const badCode = `${code.slice(0, 17)}${code[17] === '0' ? '1' : '0'}`;
    const bad = await admin.post('/workbench/organizations/new', filled(form.body, { name: 'Bad Lab', kind: 'lab', region: 'guangdong', credit_code: badCode, contact_email: 'lab@example.cn' }));
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /<a href="#f_credit_code">Unified social credit code: /, 'the check digit refused beside its field');
    t.notOk(await orgNamed('Bad Lab'));
    const ok = await admin.post('/workbench/organizations/new', filled(form.body, { name: 'Bay Area Test Lab', kind: 'lab', region: 'hong_kong', registration_number: '12345678', contact_email: 'lab@example.hk' }));
    t.equal(ok.statusCode, 303);
    const lab = (await orgNamed('Bay Area Test Lab'))!;
    t.equal(lab.kind, 'lab');

    const pform = await admin.get('/workbench/principals/new');
    t.match(pform.body, new RegExp(`value="${lab.id}"> Bay Area Test Lab<`), 'organizations offered by name');
    const created = await admin.post('/workbench/principals/new', filled(pform.body, { role: 'lab', organization_id: lab.id, name: 'Lab desk' }));
    t.equal(created.statusCode, 201);
    t.equal(created.headers['cache-control'], 'no-store');
    const token = /id="new-token" readonly value="([^"]+)"/.exec(created.body)![1]!;
    const me = await req({ method: 'GET', url: '/v1/me', token });
    t.equal(me.statusCode, 200);
    t.match(me.json(), { role: 'lab', organization_id: lab.id, name: 'Lab desk' });
    t.notMatch((await admin.get('/workbench/principals')).body, token, 'the token is never shown again');

    t.equal((await admin.get(`/workbench/organizations/${lab.id}/accreditation`)).statusCode, 403, 'accreditation is the regulator’s');
    const aform = await regulator.get(`/workbench/organizations/${lab.id}/accreditation`);
    t.match(aform.body, /value="ai-safety-risk"/, 'the schemes offered by name');
    const accredited = await regulator.post(
      `/workbench/organizations/${lab.id}/accreditation`,
      filled(aform.body, { accreditation_number: 'CNAS L1234', 'schemes[0]': 'ai-safety-risk', valid_until: '2029-06-30T23:59' }),
    );
    t.equal(accredited.statusCode, 303);
    const org = (await req({ method: 'GET', url: `/v1/organizations/${lab.id}`, token: f.regulator.token })).json();
    t.match(org.accreditation, { accreditation_number: 'CNAS L1234', schemes: ['ai-safety-risk'] });
    t.equal(new Date(org.accreditation.valid_until).toISOString(), '2029-06-30T15:59:00.000Z');
    const scheme = await app.db.selectFrom('schemes').select(['title', 'title_zh']).where('code', '=', 'ai-safety-risk').executeTakeFirstOrThrow();
    t.match((await regulator.get('/workbench/organizations')).body, `CNAS L1234 · ${scheme.title} · `, 'the accredited scheme by its title');
    const zhRegulator = new WbClient(app, { 'accept-language': 'zh-CN' });
    await zhRegulator.signIn(f.regulator.token);
    t.match((await zhRegulator.get('/workbench/organizations')).body, `CNAS L1234 · ${scheme.title_zh} · `, 'in Chinese on a Chinese page');

    const list = await admin.get('/workbench/principals');
    const action = new RegExp(`action="(/workbench/principals/${me.json().id}/revoke)"`).exec(list.body)![1]!;
    const revoked = await admin.post(action, { _csrf: /name="_csrf" value="([^"]+)"/.exec(list.body)![1]! });
    t.equal(revoked.statusCode, 303);
    t.equal((await req({ method: 'GET', url: '/v1/me', token })).statusCode, 401, 'the token no longer works');
  });

  t.test('the registry pages are the admin’s and the regulator’s', async (t) => {
    const applicant = await signedIn(f.applicant.token);
    t.equal((await applicant.get('/workbench/organizations')).statusCode, 403);
    t.equal((await applicant.get('/workbench/principals')).statusCode, 403);
    t.equal((await regulator.get('/workbench/principals')).statusCode, 403);
    t.equal((await regulator.get('/workbench/organizations')).statusCode, 200);
  });

  t.test('a registry rule refuses in the page’s language: a lab principal for an applicant organization', async (t) => {
    const zh = new WbClient(app, { 'accept-language': 'zh-CN' });
    await zh.signIn(ta.adminToken);
    const before = await app.db.selectFrom('principals').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const pform = await zh.get('/workbench/principals/new');
    const refused = await zh.post('/workbench/principals/new', filled(pform.body, { role: 'lab', organization_id: f.applicantOrg.id, name: '错配用户' }));
    t.equal(refused.statusCode, 422);
    t.match(refused.body, '检测实验室的用户须属于检测实验室类机构');
    t.notMatch(refused.body, 'a lab principal must belong', 'not the English');
    const en = await admin.post('/workbench/principals/new', filled((await admin.get('/workbench/principals/new')).body, { role: 'lab', organization_id: f.applicantOrg.id, name: 'Mismatched' }));
    t.equal(en.statusCode, 422);
    t.match(en.body, 'a lab principal must belong to an organization of kind lab');
    const api = await req({ method: 'POST', url: '/v1/principals', token: ta.adminToken, payload: { role: 'lab', organization_id: f.applicantOrg.id, name: 'Mismatched' } });
    t.equal(api.statusCode, 422);
    t.same({ code: api.json().code, rule: api.json().rule, detail: api.json().detail }, { code: 'rule_violation', rule: 'lab_organization', detail: 'a lab principal must belong to an organization of kind lab' }, 'the API’s problem as before');
    const after = await app.db.selectFrom('principals').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    t.equal(after.n, before.n, 'nothing stored');
  });
});
