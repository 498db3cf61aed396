import { buildTestApp, fixtures } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { WbClient, csrfOf } from './client.js';
import { submittedFields } from './form-fields.js';
import { caseApi } from './data.js';
import { english } from './english.js';
import { accreditedLab, application as genaiApplication, projectApi } from '../genai/helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const { app } = ta;
  const cc = await certificationCast(ta);
  const f = await fixtures(ta);
  const api = caseApi(ta);
  const lab = await cc.lab(['ai-safety-risk'], undefined, '广州人工智能检测实验室');

  // The test's own data in Chinese, so that any English left on a page is the workbench's.
  const product = await f.product(f.applicant.token, { name: '分诊助手', version: '1.0', description: '医院夜班患者消息分诊', intended_use: '为每条消息建议紧急程度' });
  const application = {
    product_id: product.id,
    scenarios: ['夜班患者消息分诊'],
    test_scope: { regions: ['广州天河'], max_users: 200, duration_months: 12 },
    risks: [{ description: '紧急消息被判为一般', level: 'high' }],
    safeguards: ['护士一小时内阅读每条消息'],
    contact: { name: '陈静', email: 'chen.jing@example.cn' },
  };
  const created = (r: Awaited<ReturnType<typeof ta.req>>) => {
    if (r.statusCode !== 201) throw new Error(`expected 201, got ${r.statusCode}: ${r.body}`);
    return r.json();
  };
  const draft = created(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: f.applicant.token, payload: application }));
  const review = created(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: f.applicant.token, payload: application }));
  await api.fire('sandbox-cases', review.id, f.applicant.token, 'SUBMIT');
  await api.fire('sandbox-cases', review.id, f.regulator.token, 'START_REVIEW');
  const certification = await cc.createCase(await cc.product(cc.applicant.token, { name: '风险评分器', description: '医院消息风险评分', intended_use: '辅助护士' }), 'ai-safety-risk', cc.applicant.token);
  cc.ok(await cc.fire(cc.applicant.token, certification.id, 'SUBMIT'));

  const signedIn = async (token: string) => {
    const w = new WbClient(app, { 'accept-language': 'zh-CN' });
    await w.signIn(token);
    return w;
  };

  type Checks = { same(a: unknown, b: unknown, m: string): void; equal(a: unknown, b: unknown, m: string): void };

  const numbers = [lab.org.name, certification.application.declared_scope] as string[];

  /** Every page the person reaches from these addresses, its event forms and their refusals (posted empty) included. */
  async function visit(t: Checks, w: WbClient, paths: string[], data: string[] = []) {
    const seen = new Set<string>();
    const check = (what: string, body: string) => t.same(english(body, [...numbers, ...data]), [], `${what}: no English`);
    for (const path of paths) {
      const page = await w.get(path);
      t.equal(page.statusCode, 200, path);
      check(path, page.body);
      for (const m of page.body.matchAll(/href="(\/workbench\/cases\/[a-z-]+\/[0-9a-f-]{36}\/events\/[A-Z_]+)[^"]*"/g)) {
        const form = m[1]!;
        if (seen.has(form)) continue;
        seen.add(form);
        const drawn = await w.get(form);
        check(form, drawn.body);
        const start = drawn.body.indexOf('<form class="event-form"');
        // Posted as drawn, a form with a required field is refused (an event without one would be fired: not here).
        if (start < 0 || !drawn.body.includes('（必填）')) continue;
        const fields = submittedFields(drawn.body.slice(start, drawn.body.indexOf('</form>', start)));
        const refused = await w.post(form, fields as Record<string, string[]>);
        if (refused.statusCode === 400) check(`${form}, refused`, refused.body);
      }
    }
  }

  t.test('every workbench page an applicant reaches is in Chinese, its refused forms too', async (t) => {
    const w = await signedIn(f.applicant.token);
    await visit(t, w, ['/workbench', '/workbench/start', '/workbench/products/new', '/workbench/cases/sandbox-cases/new', '/workbench/cases/certification-cases/new', '/workbench/cases/genai-projects/new', `/workbench/cases/sandbox-cases/${draft.id}`, `/workbench/cases/sandbox-cases/${draft.id}/edit`, `/workbench/cases/sandbox-cases/${review.id}`]);
    for (const path of ['/workbench/products/new', '/workbench/cases/sandbox-cases/new', '/workbench/cases/certification-cases/new', '/workbench/cases/genai-projects/new']) {
      const form = await w.get(path);
      const refused = await w.post(path, { _csrf: csrfOf(form.body) });
      t.equal(refused.statusCode, 400);
      t.same(english(refused.body, numbers), [], `${path}, refused: no English`);
    }
  });

  t.test('every workbench page a regulator reaches is in Chinese, its refused forms too', async (t) => {
    const w = await signedIn(f.regulator.token);
    await visit(t, w, ['/workbench', `/workbench/cases/sandbox-cases/${review.id}`, `/workbench/cases/certification-cases/${certification.id}`, '/workbench/organizations', `/workbench/organizations/${lab.org.id}/accreditation`]);
  });

  t.test('every workbench page an admin reaches is in Chinese', async (t) => {
    const w = await signedIn(ta.adminToken);
    await visit(t, w, ['/workbench', '/workbench/organizations', '/workbench/organizations/new', '/workbench/principals', '/workbench/principals/new']);
    const form = await w.get('/workbench/organizations/new');
    const refused = await w.post('/workbench/organizations/new', { _csrf: csrfOf(form.body) });
    t.same(english(refused.body, numbers), [], 'organization form, refused: no English');
  });

  t.test('the sign-in, not-found and forbidden pages are in Chinese', async (t) => {
    const w = new WbClient(app, { 'accept-language': 'zh-CN' });
    const page = await w.get('/workbench/sign-in');
    t.same(english(page.body), [], 'sign-in');
    const wrong = await w.post('/workbench/sign-in', { _csrf: csrfOf(page.body), token: 'gdai_not-a-token-at-all-0123456789' });
    t.same(english(wrong.body), [], 'sign-in refused');
    const applicant = await signedIn(f.applicant.token);
    t.same(english((await applicant.get('/workbench/nowhere')).body), [], 'not found');
    t.same(english((await applicant.get('/workbench/principals')).body), [], 'forbidden');
  });

  t.test('a refused form in Chinese: each error beside its field and in the summary in Chinese, what was typed kept, nothing stored', async (t) => {
    const w = await signedIn(f.applicant.token);
    const form = await w.get('/workbench/products/new');
    const before = (await ta.req({ method: 'GET', url: '/v1/products', token: f.applicant.token })).json().items.length;
    const refused = await w.post('/workbench/products/new', {
      _csrf: csrfOf(form.body),
      name: '',
      version: '2.0',
      kind: 'robot',
      'robot.payload_kg': '十五',
      'robot.max_speed_mps': '5000',
      'robot.human_collaboration': 'maybe',
    });
    t.equal(refused.statusCode, 400);
    t.match(refused.body, /<title>错误：/);
    t.match(refused.body, /<h2 id="error-summary-title">请更正以下问题<\/h2>/);
    t.match(refused.body, /<a href="#f_name">名称：请填写此项<\/a>/);
    t.match(refused.body, /<p class="field-error" id="f_robot-2e-payload_kg-error"><span class="visually-hidden">错误：<\/span>请输入数字<\/p>/);
    t.match(refused.body, /<p class="field-error" id="f_robot-2e-max_speed_mps-error"><span class="visually-hidden">错误：<\/span>请输入不大于 1000 的数<\/p>/);
    t.match(refused.body, /<p class="field-error" id="f_robot-2e-human_collaboration-error"><span class="visually-hidden">错误：<\/span>请选择“是”或“否”<\/p>/);
    t.match(refused.body, /value="十五"/, 'what was typed is kept');
    t.same(english(refused.body, numbers), [], 'no English on the refused page');
    t.equal((await ta.req({ method: 'GET', url: '/v1/products', token: f.applicant.token })).json().items.length, before, 'nothing stored');
  });

  t.test('an error our own words do not cover is in Chinese too (ajv-i18n): a metric named outside its pattern', async (t) => {
    const projects = projectApi(ta);
    const evaluator = await accreditedLab(ta, f);
    const created = await projects.create(f.applicant.token, genaiApplication(ta.clock.now()));
    t.equal(created.statusCode, 201);
    const id = created.json().id as string;
    for (const [token, type, payload] of [
      [f.applicant.token, 'SUBMIT'],
      [f.regulator.token, 'START_REVIEW'],
      [f.regulator.token, 'APPROVE', { evaluating_lab_id: evaluator.org.id }],
    ] as Array<[string, string, unknown?]>) {
      t.equal((await projects.fire(token, id, type, payload)).statusCode, 200, type);
    }
    const w = await signedIn(evaluator.principal.token);
    const path = `/workbench/cases/genai-projects/${id}/events/POST_SAFETY_EVALUATION`;
    const form = await w.get(path);
    t.equal(form.statusCode, 200);
    const version = /name="_version" value="(\d+)"/.exec(form.body)![1]!;
    const refused = await w.post(path, { _csrf: csrfOf(form.body), _version: version, benchmark: '粤语红队测试集', '_rows.metrics': '1', 'metrics[0].name': '攻击 成功率', 'metrics[0].value': '0.03', verdict: 'pass' });
    t.equal(refused.statusCode, 400);
    t.match(refused.body, /<a href="#f_metrics">指标：属性名 无效<\/a>/, 'propertyNames in ajv-i18n’s Chinese');
    t.match(refused.body, /<a href="#f_metrics">指标：格式不符合要求，请参照提示填写<\/a>/, 'the pattern in our own words');
    t.same(english(refused.body, numbers), [], 'no English on the refused page');
    const events = (await ta.req({ method: 'GET', url: `/v1/genai-projects/${id}/events?type=POST_SAFETY_EVALUATION`, token: f.regulator.token })).json().items;
    t.same(events, [], 'nothing stored');
  });

  t.test('a lab’s pages and a decision’s check page are in Chinese', async (t) => {
    const k = await cc.createCase(await cc.product(cc.applicant.token, { name: '巡检机器人', description: '变电站巡检', intended_use: '夜间巡检' }), 'ai-safety-risk', cc.applicant.token);
    cc.ok(await cc.fire(cc.applicant.token, k.id, 'SUBMIT'));
    cc.ok(await cc.fire(cc.regulator.token, k.id, 'ASSIGN_LAB', { lab_id: lab.org.id }));
    cc.ok(await cc.fire(lab.token, k.id, 'ACCEPT_ASSIGNMENT'));
    const w = await signedIn(lab.token);
    // The scheme's criteria are shown by their Chinese titles: none of their English is let through.
    await visit(t, w, ['/workbench', `/workbench/cases/certification-cases/${k.id}`]);
    const results = (await w.get(`/workbench/cases/certification-cases/${k.id}/events/POST_RESULTS`)).body;
    for (const cr of await cc.criteria('ai-safety-risk')) {
      t.match(results, `>${cr.title_zh}${cr.mandatory ? ' *' : ''}<`, `the results form names ${cr.id} in Chinese`);
      t.notMatch(results, cr.title, `not in English: ${cr.id}`);
    }

    const regulator = await signedIn(f.regulator.token);
    const form = await regulator.get(`/workbench/cases/sandbox-cases/${review.id}/events/REJECT`);
    const check = await regulator.post(`/workbench/cases/sandbox-cases/${review.id}/events/REJECT`, { ...submittedFields(form.body.slice(form.body.indexOf('<form class="event-form"'))), reason: '不在沙盒范围内' } as Record<string, string | string[]>);
    t.equal(check.statusCode, 200);
    t.match(check.body, /确认：不予准入|确认：/);
    t.same(english(check.body, numbers), [], 'the check page');
  });
});
