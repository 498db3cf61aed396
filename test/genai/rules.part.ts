import { buildTestApp, fixtures } from '../helpers/app.js';
import { BASE, SHA, accreditedLab, after, application, projectApi } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('GenAI project rules over HTTP', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const lab = await accreditedLab(ta, f);
    const otherLab = await accreditedLab(ta, f);
    const api = projectApi(ta);
    const now = ta.clock.now();

    const project = async (events: Array<[string, string, unknown?]> = []) => {
      const created = await api.create(f.applicant.token, application(now));
      if (created.statusCode !== 201) throw new Error(created.body);
      const c = created.json();
      for (const [token, type, payload] of events) {
        const r = await api.fire(token, c.id, type, payload);
        if (r.statusCode !== 200) throw new Error(`${type}: ${r.body}`);
      }
      return c;
    };
    const review: Array<[string, string, unknown?]> = [
      [f.applicant.token, 'SUBMIT'],
      [f.regulator.token, 'START_REVIEW'],
    ];
    const active = () => [...review, [f.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id }]] as Array<[string, string, unknown?]>;
    const submit = (id: string) => ({ milestone_id: id, deliverables: [`${id} deliverable`], report_sha256: SHA });
    /** The refusal, and that nothing was stored: the version is unchanged. */
    const refused = async (t: any, r: any, status: number, code: string, caseId: string, version: number, rule?: string, detail?: RegExp) => {
      t.equal(r.statusCode, status, r.body);
      t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      const p = r.json();
      t.equal(p.code, code);
      if (rule) t.equal(p.rule, rule);
      if (detail) t.match(p.detail, detail);
      t.equal((await api.get(f.regulator.token, caseId)).json().version, version, 'nothing stored');
    };

    await t.test('duplicate milestone ids are refused at creation, naming the field', async (t) => {
      const before = (await api.list(f.applicant.token)).json().items.length;
      const dup = application(now, {
        milestones: [
          { id: 'm1', title: 'One', due: after(10, now) },
          { id: 'm1', title: 'Again', due: after(20, now) },
        ],
      });
      const r = await api.create(f.applicant.token, dup);
      t.equal(r.statusCode, 422, r.body);
      t.equal(r.json().code, 'rule_violation');
      t.equal(r.json().rule, 'application');
      t.match(r.json().detail, /milestones: each id must be unique; repeated: m1/);
      t.equal((await api.list(f.applicant.token)).json().items.length, before, 'no case was created');
    });

    await t.test('duplicate milestone ids are refused when the draft is replaced', async (t) => {
      const c = await project();
      const r = await ta.req({
        method: 'PATCH',
        url: `${BASE}/${c.id}`,
        token: f.applicant.token,
        payload: application(now, { milestones: [{ id: 'x', title: 'a', due: after(5, now) }, { id: 'x', title: 'b', due: after(6, now) }] }),
      });
      await refused(t, r, 422, 'rule_violation', c.id, 1, 'application', /repeated: x/);
    });

    await t.test('the application schema refuses bad fields, naming each', async (t) => {
      const bad: Array<[string, Record<string, unknown>, string]> = [
        ['unknown field', { budget: 100 }, 'body/budget'],
        ['duration over 60 months', { duration_months: 61 }, 'body/duration_months'],
        ['duration under 1 month', { duration_months: 0 }, 'body/duration_months'],
        ['unknown research area', { research_areas: ['mind_reading'] }, 'body/research_areas/0'],
        ['no research area', { research_areas: [] }, 'body/research_areas'],
        ['no milestones', { milestones: [] }, 'body/milestones'],
        ['milestone without due', { milestones: [{ id: 'm1', title: 'x' }] }, 'body/milestones/0/due'],
        ['partner region', { partners: [{ name: 'Taipei Lab', region: 'taiwan' }] }, 'body/partners/0/region'],
        ['model without provider', { model_under_study: { name: 'X' } }, 'body/model_under_study/provider'],
        ['no data handling', { data_handling: undefined }, 'body/data_handling'],
      ];
      for (const [name, over, path] of bad) {
        const r = await api.create(f.applicant.token, JSON.parse(JSON.stringify(application(now, over))));
        t.equal(r.statusCode, 400, name);
        t.equal(r.json().code, 'validation_failed', name);
        t.ok(r.json().errors.some((e: any) => e.path === path), `${name}: ${JSON.stringify(r.json().errors)}`);
      }
      const ok = await api.create(f.applicant.token, application(now, { partners: undefined, model_under_study: { name: 'Open model', provider: 'Lab' } }));
      t.equal(ok.statusCode, 201, 'partners and filing number are optional');
    });

    await t.test('APPROVE needs an accredited lab that is valid now', async (t) => {
      const c = await project(review);
      const fire = (id: string) => api.fire(f.regulator.token, c.id, 'APPROVE', { evaluating_lab_id: id });
      const unaccredited = await f.org({ kind: 'lab' });
      const expired = await accreditedLab(ta, f, after(-1, now));
      const cases: Array<[string, string, RegExp]> = [
        ['no such organization', '00000000-0000-4000-8000-00000000dead', /names no organization/],
        ['an enterprise', f.otherOrg.id, /must name a lab/],
        ['a lab without accreditation', unaccredited.id, /holds no accreditation/],
        ['an expired accreditation', expired.org.id, /expired/],
      ];
      for (const [name, id, detail] of cases) {
        t.comment(name);
        await refused(t, await fire(id), 422, 'rule_violation', c.id, 3, 'evaluatingLabAccredited', detail);
      }
      await refused(t, await api.fire(f.regulator.token, c.id, 'APPROVE', {}), 400, 'validation_failed', c.id, 3);
      const ok = await fire(lab.org.id);
      t.equal(ok.statusCode, 200, ok.body);
      t.equal(ok.json().case.state, 'active');
    });

    await t.test('an unknown milestone is refused', async (t) => {
      const c = await project(active());
      await refused(t, await api.fire(f.applicant.token, c.id, 'SUBMIT_MILESTONE', submit('m7')), 422, 'rule_violation', c.id, 4, 'milestoneSubmittable', /"m7" is not a milestone/);
    });

    await t.test('an accepted milestone cannot be submitted again; a second one waits for the first', async (t) => {
      const c = await project(active());
      t.equal((await api.fire(f.applicant.token, c.id, 'SUBMIT_MILESTONE', submit('m1'))).statusCode, 200);
      await refused(t, await api.fire(f.applicant.token, c.id, 'SUBMIT_MILESTONE', submit('m2')), 409, 'invalid_transition', c.id, 5);
      t.equal((await api.fire(f.regulator.token, c.id, 'ACCEPT_MILESTONE')).statusCode, 200);
      await refused(t, await api.fire(f.applicant.token, c.id, 'SUBMIT_MILESTONE', submit('m1')), 422, 'rule_violation', c.id, 6, 'milestoneSubmittable', /already accepted/);
      await refused(t, await api.fire(f.applicant.token, c.id, 'SUBMIT_MILESTONE', { ...submit('m2'), report_sha256: 'nope' }), 400, 'validation_failed', c.id, 6);
    });

    await t.test('the final evaluation cannot be requested before every milestone is accepted', async (t) => {
      const c = await project([...active(), [f.applicant.token, 'SUBMIT_MILESTONE', submit('m1')], [f.regulator.token, 'ACCEPT_MILESTONE']]);
      await refused(t, await api.fire(f.applicant.token, c.id, 'REQUEST_FINAL_EVALUATION'), 422, 'rule_violation', c.id, 6, 'allMilestonesAccepted', /not yet accepted: m2/);
    });

    await t.test('a project cannot complete without a passed safety evaluation', async (t) => {
      const c = await project([
        ...active(),
        [lab.principal.token, 'POST_SAFETY_EVALUATION', { benchmark: 'SafetyBench', metrics: { score: 0.4 }, verdict: 'fail' }],
        [f.applicant.token, 'SUBMIT_MILESTONE', submit('m1')],
        [f.regulator.token, 'ACCEPT_MILESTONE'],
        [f.applicant.token, 'SUBMIT_MILESTONE', submit('m2')],
        [f.regulator.token, 'ACCEPT_MILESTONE'],
        [f.applicant.token, 'REQUEST_FINAL_EVALUATION'],
      ]);
      await refused(t, await api.fire(f.regulator.token, c.id, 'COMPLETE'), 422, 'rule_violation', c.id, 10, 'passedEvaluation', /passed safety evaluation/);
    });

    await t.test('only the evaluating lab posts safety evaluations; other labs cannot see the project', async (t) => {
      const c = await project(active());
      const evaluation = { benchmark: 'SafetyBench', metrics: { score: 0.9 }, verdict: 'pass' };
      await refused(t, await api.fire(otherLab.principal.token, c.id, 'POST_SAFETY_EVALUATION', evaluation), 404, 'not_found', c.id, 4);
      t.equal((await api.get(otherLab.principal.token, c.id)).statusCode, 404);
      t.equal((await ta.req({ method: 'GET', url: `${BASE}/${c.id}/events`, token: otherLab.principal.token })).statusCode, 404);
      t.notOk((await api.list(otherLab.principal.token)).json().items.some((i: any) => i.id === c.id));
      await refused(t, await api.fire(f.applicant.token, c.id, 'POST_SAFETY_EVALUATION', evaluation), 403, 'forbidden', c.id, 4);
      await refused(t, await api.fire(f.regulator.token, c.id, 'POST_SAFETY_EVALUATION', evaluation), 403, 'forbidden', c.id, 4);
      const ok = await api.fire(lab.principal.token, c.id, 'POST_SAFETY_EVALUATION', evaluation);
      t.equal(ok.statusCode, 200, ok.body);
      t.match(ok.json().case.record, { evaluations: { count: 1 }, passed_evaluations: { count: 1 }, latest_evaluation: { verdict: 'pass', lab_id: lab.org.id } });
    });

    await t.test('roles: each event only by its role; other organizations see nothing', async (t) => {
      const c = await project(review);
      await refused(t, await api.fire(f.applicant.token, c.id, 'APPROVE', { evaluating_lab_id: lab.org.id }), 403, 'forbidden', c.id, 3);
      await refused(t, await api.fire(lab.principal.token, c.id, 'REJECT', { reason: 'x' }), 404, 'not_found', c.id, 3);
      await refused(t, await api.fire(f.otherApplicant.token, c.id, 'WITHDRAW'), 404, 'not_found', c.id, 3);
      await refused(t, await api.fire(f.regulator.token, c.id, 'MARK_MILESTONE_OVERDUE'), 403, 'forbidden', c.id, 3);
      t.equal((await api.get(f.otherApplicant.token, c.id)).statusCode, 404);
    });

    await t.test('suspend and terminate need a reason; resume takes optional comments', async (t) => {
      const c = await project(active());
      await refused(t, await api.fire(f.regulator.token, c.id, 'SUSPEND'), 400, 'validation_failed', c.id, 4);
      await refused(t, await api.fire(f.regulator.token, c.id, 'SUSPEND', { reason: 'x', extra: 1 }), 400, 'validation_failed', c.id, 4);
      t.equal((await api.fire(f.regulator.token, c.id, 'SUSPEND', { reason: 'Incident under investigation' })).json().case.state, 'suspended');
      await refused(t, await api.fire(f.applicant.token, c.id, 'SUBMIT_MILESTONE', submit('m1')), 409, 'invalid_transition', c.id, 5);
      const resumed = await api.fire(f.regulator.token, c.id, 'RESUME', { comments: 'Resolved' });
      t.equal(resumed.json().case.state, 'active', resumed.body);
      t.match(resumed.json().case.record, { suspensions: { count: 1 }, suspension: { reason: 'Incident under investigation', resume_comments: 'Resolved' } });
      await refused(t, await api.fire(f.regulator.token, c.id, 'TERMINATE', {}), 400, 'validation_failed', c.id, 6);
      const term = await api.fire(f.regulator.token, c.id, 'TERMINATE', { reason: 'Repeated breaches' });
      t.equal(term.json().case.state, 'terminated');
      t.match(term.json().case.record.decision, { type: 'TERMINATE', reason: 'Repeated breaches' });
      t.same(term.json().case.deadlines, {});
    });

    await t.test('REJECT and WITHDRAW end a proposal', async (t) => {
      const rejected = await project(review);
      const r = await api.fire(f.regulator.token, rejected.id, 'REJECT', { reason: 'Outside the joint laboratory remit' });
      t.equal(r.json().case.state, 'rejected');
      const withdrawn = await project(review);
      t.equal((await api.fire(f.applicant.token, withdrawn.id, 'WITHDRAW')).json().case.state, 'withdrawn');
    });

    const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token });
    t.same(v.json().failures, []);
    t.equal(v.json().ok, true);
  });
});
