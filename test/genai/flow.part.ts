import { buildTestApp, fixtures } from '../helpers/app.js';
import { BASE, SHA, accreditedLab, application, projectApi } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('a research team, the regulator and the evaluating lab run a GenAI project to completion', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const lab = await accreditedLab(ta, f);
    const api = projectApi(ta);
    const now = ta.clock.now();
    const app = application(now);

    const created = await api.create(f.applicant.token, app);
    t.equal(created.statusCode, 201, created.body);
    const c = created.json();
    t.match(c.number, /^GAI-\d{4}-\d{6}$/);
    t.equal(c.kind, 'genai-projects');
    t.equal(c.state, 'draft');
    t.equal(c.product_id, null);
    t.equal(created.headers.location, `${BASE}/${c.id}`);
    t.same(c.application, app);

    const patched = await ta.req({ method: 'PATCH', url: `${BASE}/${c.id}`, token: f.applicant.token, payload: { ...app, duration_months: 18 } });
    t.equal(patched.statusCode, 200, patched.body);
    t.equal(patched.json().application.duration_months, 18);

    const step = async (token: string, type: string, payload?: unknown) => {
      const r = await api.fire(token, c.id, type, payload);
      t.equal(r.statusCode, 200, `${type}: ${r.body}`);
      return r.json().case;
    };
    await step(f.applicant.token, 'SUBMIT');
    t.equal((await api.get(lab.principal.token, c.id)).statusCode, 404, 'the lab cannot see the project before it is named');
    await step(f.regulator.token, 'START_REVIEW');
    let cur = await step(f.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id, comments: 'Report monthly to the joint laboratory' });
    t.equal(cur.state, 'active');
    t.equal(cur.lab_id, lab.org.id);
    t.same(cur.deadlines, { 'milestone:m1': app.milestones[0]!.due, 'milestone:m2': app.milestones[1]!.due });
    t.same(cur.record.approval.evaluating_lab, { id: lab.org.id, name: lab.org.name, accreditation_number: cur.record.approval.evaluating_lab.accreditation_number });

    const seen = await api.get(lab.principal.token, c.id);
    t.equal(seen.statusCode, 200, 'the evaluating lab now sees the project');
    t.same((await api.list(lab.principal.token)).json().items.map((i: any) => i.id), [c.id]);
    const allowed = await ta.req({ method: 'GET', url: `${BASE}/${c.id}/allowed-events`, token: lab.principal.token });
    t.same(allowed.json(), { state: 'active', events: ['POST_SAFETY_EVALUATION'] });

    await step(f.applicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: ['Attack taxonomy v1'], report_sha256: SHA });
    await step(f.regulator.token, 'RETURN_MILESTONE', { comments: 'Cover jailbreaks in Cantonese slang' });
    await step(f.applicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: ['Attack taxonomy v2'], report_sha256: SHA });
    await step(f.regulator.token, 'ACCEPT_MILESTONE', { comments: 'Accepted' });
    await step(lab.principal.token, 'POST_SAFETY_EVALUATION', { benchmark: 'CValues-Yue', metrics: { refusal_rate: 0.91, attack_success_rate: 0.12 }, verdict: 'fail' });
    await step(f.applicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'm2', deliverables: ['Benchmark', 'Paper'], report_sha256: SHA });
    cur = await step(f.regulator.token, 'ACCEPT_MILESTONE');
    t.same(cur.deadlines, {}, 'accepted milestones are no longer due');
    await step(f.applicant.token, 'REQUEST_FINAL_EVALUATION');
    await step(lab.principal.token, 'POST_SAFETY_EVALUATION', { benchmark: 'CValues-Yue', metrics: { refusal_rate: 0.98, attack_success_rate: 0.02 }, verdict: 'pass' });
    await step(f.regulator.token, 'COMPLETE', { comments: 'Results to be published by the joint laboratory' });

    const got = await api.get(f.applicant.token, c.id);
    const done = got.json();
    t.equal(done.state, 'completed');
    t.equal(got.headers.etag, `"${done.version}"`);
    t.equal(done.version, 15);
    const r = done.record;
    const hist = await ta.req({ method: 'GET', url: `${BASE}/${c.id}/events`, token: lab.principal.token });
    t.equal(hist.statusCode, 200);
    const items: any[] = hist.json().items;
    const of = (...types: string[]) => items.filter((e) => types.includes(e.type));
    const atOf = (type: string, nth = -1) => of(type).at(nth).at;

    // The record: each milestone's status, its submissions counted and the latest one, its latest return.
    t.same(
      r.milestones.map((m: any) => [m.id, m.status, m.submissions, m.last_submission.deliverables, m.returned_at ?? null]),
      [
        ['m1', 'accepted', { count: 2, latest_at: of('SUBMIT_MILESTONE')[1].at }, ['Attack taxonomy v2'], atOf('RETURN_MILESTONE')],
        ['m2', 'accepted', { count: 1, latest_at: of('SUBMIT_MILESTONE')[2].at }, ['Benchmark', 'Paper'], null],
      ],
    );
    t.equal(r.milestones[0].last_submission.seq, of('SUBMIT_MILESTONE')[1].seq, 'the latest submission is that event');
    // The history: each milestone's submissions, returns and acceptances, in order.
    t.same(
      of('SUBMIT_MILESTONE', 'RETURN_MILESTONE', 'ACCEPT_MILESTONE').map((e) => [e.type, e.payload.milestone_id ?? null, e.payload.deliverables ?? null]),
      [
        ['SUBMIT_MILESTONE', 'm1', ['Attack taxonomy v1']],
        ['RETURN_MILESTONE', null, null],
        ['SUBMIT_MILESTONE', 'm1', ['Attack taxonomy v2']],
        ['ACCEPT_MILESTONE', null, null],
        ['SUBMIT_MILESTONE', 'm2', ['Benchmark', 'Paper']],
        ['ACCEPT_MILESTONE', null, null],
      ],
    );

    // Evaluations: counted, the latest in the record; each one (its verdict, the lab that posted it, and
    // whether the final evaluation had been asked for) in the history.
    t.same(r.evaluations, { count: 2, latest_at: atOf('POST_SAFETY_EVALUATION') });
    t.same(r.passed_evaluations, { count: 1, latest_at: atOf('POST_SAFETY_EVALUATION') });
    t.match(r.latest_evaluation, { seq: of('POST_SAFETY_EVALUATION')[1].seq, benchmark: 'CValues-Yue', verdict: 'pass', stage: 'final', lab_id: lab.org.id });
    t.same(
      of('POST_SAFETY_EVALUATION').map((e) => [e.payload.verdict, e.from_state, e.actor.principal_id]),
      [
        ['fail', 'active', lab.principal.id],
        ['pass', 'final_evaluation', lab.principal.id],
      ],
    );

    // The regulator's comments: counted in the record, said in the history.
    t.same(r.review_comments, { count: 4, latest_at: atOf('COMPLETE') });
    t.same(
      items.filter((e) => e.payload?.comments).map((e) => [e.type, e.payload.comments]),
      [
        ['APPROVE', 'Report monthly to the joint laboratory'],
        ['RETURN_MILESTONE', 'Cover jailbreaks in Cantonese slang'],
        ['ACCEPT_MILESTONE', 'Accepted'],
        ['COMPLETE', 'Results to be published by the joint laboratory'],
      ],
    );
    t.ok(r.completion.completed_at);

    t.same(items.map((e: any) => e.type), [
      'CASE_CREATED',
      'REPLACE_APPLICATION',
      'SUBMIT',
      'START_REVIEW',
      'APPROVE',
      'SUBMIT_MILESTONE',
      'RETURN_MILESTONE',
      'SUBMIT_MILESTONE',
      'ACCEPT_MILESTONE',
      'POST_SAFETY_EVALUATION',
      'SUBMIT_MILESTONE',
      'ACCEPT_MILESTONE',
      'REQUEST_FINAL_EVALUATION',
      'POST_SAFETY_EVALUATION',
      'COMPLETE',
    ]);

    const reg = await ta.req({ method: 'GET', url: '/v1/register/genai-projects' });
    t.equal(reg.statusCode, 200);
    const entry = reg.json().items.find((i: any) => i.number === c.number);
    t.same(entry, {
      number: c.number,
      title: app.title,
      lead_organization: { name: f.applicantOrg.name },
      partners: app.partners,
      research_areas: app.research_areas,
      state: 'completed',
      approved_at: r.approval.approved_at,
      completed_at: r.completion.completed_at,
    });

    const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token });
    t.equal(v.statusCode, 200);
    t.same(v.json().failures, []);
    t.equal(v.json().ok, true);

    const wf = await ta.req({ method: 'GET', url: '/v1/workflows/genai-projects' });
    t.equal(wf.statusCode, 200);
    t.same(wf.json().final_states.sort(), ['completed', 'rejected', 'terminated', 'withdrawn']);
  });

  t.test('the public register lists active and completed projects, their public fields only', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const lab = await accreditedLab(ta, f);
    const api = projectApi(ta);
    const now = ta.clock.now();
    const make = async (token: string, over: Record<string, unknown>, events: Array<[string, string, unknown?]>) => {
      ta.clock.advance(1000);
      const c = (await api.create(token, application(now, over))).json();
      for (const [tok, type, payload] of events) {
        const r = await api.fire(tok, c.id, type, payload);
        if (r.statusCode !== 200) throw new Error(`${type}: ${r.body}`);
      }
      return c;
    };
    const toActive: Array<[string, string, unknown?]> = [
      [f.applicant.token, 'SUBMIT'],
      [f.regulator.token, 'START_REVIEW'],
      [f.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id }],
    ];
    const active = await make(f.applicant.token, { title: 'Watermark robustness', research_areas: ['watermarking_and_labeling'] }, toActive);
    const noPartners = await make(f.otherApplicant.token, { title: 'Privacy audits', partners: undefined }, [
      [f.otherApplicant.token, 'SUBMIT'],
      [f.regulator.token, 'START_REVIEW'],
      [f.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id }],
    ]);
    const draft = await make(f.applicant.token, { title: 'Draft only' }, []);
    const review = await make(f.applicant.token, { title: 'Under review' }, toActive.slice(0, 2));
    const suspended = await make(f.applicant.token, { title: 'Suspended one' }, [...toActive, [f.regulator.token, 'SUSPEND', { reason: 'Audit' }]]);
    const terminated = await make(f.applicant.token, { title: 'Terminated one' }, [...toActive, [f.regulator.token, 'TERMINATE', { reason: 'Breach' }]]);

    const reg = await ta.req({ method: 'GET', url: '/v1/register/genai-projects' });
    t.equal(reg.statusCode, 200);
    const body = reg.json();
    t.same(Object.keys(body).sort(), ['items', 'next_cursor']);
    t.same(body.items.map((i: any) => i.number), [active.number, noPartners.number]);
    for (const hidden of [draft, review, suspended, terminated]) t.notOk(body.items.some((i: any) => i.number === hidden.number), hidden.application.title);
    for (const item of body.items) {
      t.same(Object.keys(item).sort(), ['approved_at', 'completed_at', 'lead_organization', 'number', 'partners', 'research_areas', 'state', 'title']);
      t.same(Object.keys(item.lead_organization), ['name']);
      for (const p of item.partners) t.same(Object.keys(p).sort(), ['name', 'region']);
      t.equal(item.state, 'active');
      t.ok(Date.parse(item.approved_at));
      t.equal(item.completed_at, null);
    }
    t.same(body.items[0].partners, [
      { name: 'HK Institute of AI Safety', region: 'hong_kong' },
      { name: 'Macao Language Lab', region: 'macao' },
    ]);
    t.same(body.items[1].partners, []);
    t.same(body.items[1].lead_organization, { name: f.otherOrg.name });
    for (const secret of ['data_handling', 'summary', 'model_under_study', 'Pearl-7B', 'milestones', 'contact', 'evaluating_lab', lab.org.name, 'organization_id', active.id]) {
      t.notOk(reg.body.includes(secret), `the register does not show ${secret}`);
    }

    const page1 = (await ta.req({ method: 'GET', url: '/v1/register/genai-projects?limit=1' })).json();
    t.same(page1.items.map((i: any) => i.number), [active.number]);
    t.type(page1.next_cursor, 'string');
    const page2 = (await ta.req({ method: 'GET', url: `/v1/register/genai-projects?limit=1&cursor=${page1.next_cursor}` })).json();
    t.same(page2.items.map((i: any) => i.number), [noPartners.number]);
    t.equal(page2.next_cursor, null);

    const byTitle = (await ta.req({ method: 'GET', url: `/v1/register/genai-projects?q=${encodeURIComponent('watermark')}` })).json();
    t.same(byTitle.items.map((i: any) => i.number), [active.number]);
    const byPartner = (await ta.req({ method: 'GET', url: `/v1/register/genai-projects?q=${encodeURIComponent('macao language')}` })).json();
    t.same(byPartner.items.map((i: any) => i.number), [active.number]);
    const byOrg = (await ta.req({ method: 'GET', url: `/v1/register/genai-projects?q=${encodeURIComponent(f.otherOrg.name)}` })).json();
    t.same(byOrg.items.map((i: any) => i.number), [noPartners.number]);
    const byNumber = (await ta.req({ method: 'GET', url: `/v1/register/genai-projects?q=${noPartners.number}` })).json();
    t.same(byNumber.items.map((i: any) => i.number), [noPartners.number]);
    const wild = (await ta.req({ method: 'GET', url: `/v1/register/genai-projects?q=${encodeURIComponent('%')}` })).json();
    t.same(wild.items, [], 'q is matched literally');
    t.same((await ta.req({ method: 'GET', url: '/v1/register/genai-projects?state=completed' })).json().items, []);
    const bad = await ta.req({ method: 'GET', url: '/v1/register/genai-projects?state=suspended' });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'validation_failed');
    t.equal((await ta.req({ method: 'GET', url: '/v1/register/genai-projects?contact=1' })).statusCode, 400);
  });
});
