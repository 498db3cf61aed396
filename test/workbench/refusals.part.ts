import { buildTestApp, fixtures } from '../helpers/app.js';
import { WbClient, csrfOf } from './client.js';
import { submittedFields } from './form-fields.js';
import { english } from './english.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // A rule's refusal in the page's language on the workbench; the API's problem detail stays the English it always was.
  const ta = await buildTestApp(t);
  const { app, clock } = ta;
  const f = await fixtures(ta);

  // The test's own data in Chinese, so that any English left on a page is the workbench's.
  const product = await f.product(f.applicant.token, { name: '巡检机器人', version: '1.0', description: '变电站夜间巡检', intended_use: '发现设备异常' });
  const application = {
    product_id: product.id,
    scenarios: ['变电站夜间巡检'],
    test_scope: { regions: ['深圳前海'], max_users: 50, duration_months: 12 },
    risks: [{ description: '与值班人员碰撞', level: 'medium' }],
    safeguards: ['靠近人员时限速'],
    contact: { name: '李伟', email: 'li.wei@example.cn' },
  };
  const ok = (r: Awaited<ReturnType<typeof ta.req>>, status = 200) => {
    if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
    return r.json();
  };
  async function underReview() {
    const k = ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: f.applicant.token, payload: application }), 201);
    for (const [token, type] of [[f.applicant.token, 'SUBMIT'], [f.regulator.token, 'START_REVIEW']] as const) {
      ok(await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${k.id}/events`, token, payload: { type } }));
    }
    return k as { id: string; number: string };
  }
  const signedIn = async (token: string, lang: string) => {
    const w = new WbClient(app, { 'accept-language': lang });
    const res = await w.signIn(token);
    if (res.statusCode !== 303) throw new Error(`sign-in: ${res.statusCode}`);
    return w;
  };
  const eventCount = async (id: string) =>
    Number((await app.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('chain_id', '=', id).executeTakeFirstOrThrow()).n);

  /** The event form on a page as the browser would post it, with some fields changed. */
  function filled(page: string, changes: Record<string, string | string[]> = {}): Record<string, string | string[]> {
    const start = page.indexOf('<form class="event-form"');
    return { ...(submittedFields(page.slice(start, page.indexOf('</form>', start))) as Record<string, string | string[]>), ...changes };
  }
  /** A datetime-local value in China time (the workbench's), `days` from now. */
  const chinaLocal = (days: number) => new Date(clock.now().getTime() + days * 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 16);

  t.test('REQUEST_INFO with a respond_by already past: the rule’s refusal in Chinese on a Chinese page, in English on an English one', async (t) => {
    const k = await underReview();
    const before = await eventCount(k.id);
    const path = `/workbench/cases/sandbox-cases/${k.id}/events/REQUEST_INFO`;

    const zh = await signedIn(f.regulator.token, 'zh-CN');
    const form = await zh.get(path);
    t.equal(form.statusCode, 200);
    const refused = await zh.post(path, filled(form.body, { 'questions[0]': '具体在哪些站点测试？', respond_by: chinaLocal(-1) }));
    t.equal(refused.statusCode, 422);
    t.match(refused.body, '不符合规则： 答复期限须晚于当前时间', 'the refusal in Chinese');
    t.notMatch(refused.body, 'must be in the future');
    t.same(english(refused.body), [], 'no English on the refused page');
    t.match(refused.body, '具体在哪些站点测试？', 'what was typed is kept');

    const en = await signedIn(f.regulator.token, 'en');
    const enForm = await en.get(path);
    const enRefused = await en.post(path, filled(enForm.body, { 'questions[0]': 'Which sites?', respond_by: chinaLocal(-1) }));
    t.equal(enRefused.statusCode, 422);
    t.match(enRefused.body, 'A rule refused this: respond_by must be in the future', 'the refusal in English, as the API says it');
    t.notMatch(enRefused.body, '答复期限须晚于当前时间');
    t.equal(await eventCount(k.id), before, 'nothing written');
  });

  t.test('the API’s problem for the same refusal is unchanged: its English detail, the rule, nothing else', async (t) => {
    const k = await underReview();
    const res = await ta.req({
      method: 'POST',
      url: `/v1/sandbox-cases/${k.id}/events`,
      token: f.regulator.token,
      payload: { type: 'REQUEST_INFO', payload: { questions: ['Which sites?'], respond_by: new Date(clock.now().getTime() - 86_400_000).toISOString() } },
    });
    t.equal(res.statusCode, 422);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    const problem = res.json();
    t.equal(problem.detail, 'respond_by must be in the future');
    t.equal(problem.rule, 'respondByInFuture');
    t.same(Object.keys(problem).sort(), ['code', 'detail', 'rule', 'status', 'title', 'type'], 'the Chinese is not in the problem');
    t.notMatch(res.body, /[\u4e00-\u9fff]/, 'no Chinese anywhere in it');
  });

  t.test('a decision refused on confirmation (ADMIT, testing period ending before it starts): in Chinese, interpolated numbers kept', async (t) => {
    const k = await underReview();
    const path = `/workbench/cases/sandbox-cases/${k.id}/events/ADMIT`;
    const zh = await signedIn(f.regulator.token, 'zh-CN');
    const form = await zh.get(path);
    const check = await zh.post(path, filled(form.body, { 'conditions[0]': '每月提交报告', 'testing_period.start': chinaLocal(30), 'testing_period.end': chinaLocal(10) }));
    t.equal(check.statusCode, 200, 'a decision is checked first');
    const main = check.body.slice(check.body.indexOf('<main'));
    const confirm = (body: string) => zh.post(/<form method="post" action="([^"]+)"/.exec(body)![1]!, submittedFields(body) as Record<string, string | string[]>);
    const refused = await confirm(main);
    t.equal(refused.statusCode, 422);
    t.match(refused.body, '不符合规则： 测试期的结束时间须晚于开始时间');
    t.same(english(refused.body), [], 'no English on the refused page');

    const tooLong = await zh.post(path, filled(form.body, { 'conditions[0]': '每月提交报告', 'testing_period.start': chinaLocal(1), 'testing_period.end': chinaLocal(1000) }));
    const refusedLong = await confirm(tooLong.body.slice(tooLong.body.indexOf('<main')));
    t.equal(refusedLong.statusCode, 422);
    t.match(refusedLong.body, '不符合规则： 测试期最长为 24 个月');
    t.same(english(refusedLong.body), [], 'no English on the refused page');
  });

  t.test('an application the workflow’s own check refuses (another organization’s product): in Chinese on the form, in English from the API', async (t) => {
    const theirs = await f.product(f.otherApplicant.token, { name: '别家的产品' });
    const w = await signedIn(f.applicant.token, 'zh-CN');
    const form = await w.get('/workbench/cases/sandbox-cases/new');
    const fields = {
      _csrf: csrfOf(form.body),
      product_id: theirs.id,
      'scenarios[0]': application.scenarios[0]!,
      'test_scope.regions[0]': application.test_scope.regions[0]!,
      'test_scope.max_users': '50',
      'test_scope.duration_months': '12',
      'risks[0].description': application.risks[0]!.description,
      'risks[0].level': 'medium',
      'safeguards[0]': application.safeguards[0]!,
      'contact.name': application.contact.name,
      'contact.email': application.contact.email,
    };
    const refused = await w.post('/workbench/cases/sandbox-cases/new', fields);
    t.equal(refused.statusCode, 422);
    t.match(refused.body, '所选产品须为本单位的产品');
    t.same(english(refused.body), [], 'no English on the refused page');

    const en = await signedIn(f.applicant.token, 'en');
    const enForm = await en.get('/workbench/cases/sandbox-cases/new');
    const enRefused = await en.post('/workbench/cases/sandbox-cases/new', { ...fields, _csrf: csrfOf(enForm.body) });
    t.equal(enRefused.statusCode, 422);
    t.match(enRefused.body, 'product_id must name a product of your organization');

    const api = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: f.applicant.token, payload: { ...application, product_id: theirs.id } });
    t.equal(api.statusCode, 422);
    t.same([api.json().detail, api.json().rule], ['product_id must name a product of your organization', 'application']);
  });
});
