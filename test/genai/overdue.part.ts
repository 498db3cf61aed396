import { buildTestApp, fixtures } from '../helpers/app.js';
import { SYSTEM_CALLER } from '../../src/engine/caller.js';
import { fireEvent } from '../../src/cases/fire.js';
import { sweepOnce } from '../../src/scheduler/scheduler.js';
import { genaiWorkflow } from '../../workflows/genai.js';
import { SHA, accreditedLab, after, application, day, projectApi } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('overdue milestones: deadlines, the scheduler event and the overdue filter', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const lab = await accreditedLab(ta, f);
    const api = projectApi(ta);
    const now = ta.clock.now();

    const project = async (token: string, milestones: Array<{ id: string; days: number }>, events: Array<[string, string, unknown?]>) => {
      const body = application(now, { milestones: milestones.map((m) => ({ id: m.id, title: `Milestone ${m.id}`, due: after(m.days, now) })) });
      const c = (await api.create(token, body)).json();
      for (const [tok, type, payload] of events) {
        const r = await api.fire(tok, c.id, type, payload);
        if (r.statusCode !== 200) throw new Error(`${type}: ${r.body}`);
      }
      return c;
    };
    const toActive = (applicant: string): Array<[string, string, unknown?]> => [
      [applicant, 'SUBMIT'],
      [f.regulator.token, 'START_REVIEW'],
      [f.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id }],
    ];
    const ids = async (query: string, token = f.regulator.token) => {
      const r = await api.list(token, query);
      if (r.statusCode !== 200) throw new Error(r.body);
      return r.json().items.map((i: any) => i.id).sort();
    };

    const late = await project(f.applicant.token, [{ id: 'a1', days: 10 }, { id: 'a2', days: 100 }], toActive(f.applicant.token));
    const onTime = await project(f.applicant.token, [{ id: 'b1', days: 90 }], toActive(f.applicant.token));
    const inReview = await project(f.otherApplicant.token, [{ id: 'c1', days: 10 }], [
      ...toActive(f.otherApplicant.token),
      [f.otherApplicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'c1', deliverables: ['d'], report_sha256: SHA }],
    ]);
    const suspended = await project(f.applicant.token, [{ id: 'd1', days: 10 }], [...toActive(f.applicant.token), [f.regulator.token, 'SUSPEND', { reason: 'Audit' }]]);
    const terminated = await project(f.applicant.token, [{ id: 'e1', days: 10 }], [...toActive(f.applicant.token), [f.regulator.token, 'TERMINATE', { reason: 'Breach' }]]);
    const draft = await project(f.applicant.token, [{ id: 'f1', days: 10 }], []);

    await t.test('milestone due dates are deadlines of the running project', async (t) => {
      const c = (await api.get(f.regulator.token, late.id)).json();
      t.same(c.deadlines, { 'milestone:a1': after(10, now), 'milestone:a2': after(100, now) });
      t.same((await api.get(f.regulator.token, suspended.id)).json().deadlines, {});
      t.same((await api.get(f.regulator.token, draft.id)).json().deadlines, {});
      const rows = await ta.app.db.selectFrom('deadlines').select(['name', 'event_type', 'due_at']).where('case_id', '=', late.id).orderBy('name').execute();
      t.same(
        rows.map((r) => [r.name, r.event_type, new Date(r.due_at).toISOString()]),
        [
          ['milestone:a1', 'MARK_MILESTONE_OVERDUE', after(10, now)],
          ['milestone:a2', 'MARK_MILESTONE_OVERDUE', after(100, now)],
        ],
      );
    });

    await t.test('nothing is overdue before any due date', async (t) => {
      t.same(await ids('?overdue=true'), []);
      t.same(await ids('?overdue=false'), [late.id, onTime.id, inReview.id, suspended.id, terminated.id, draft.id].sort());
    });

    ta.clock.advance(11 * day);

    await t.test('once a due date passes, the regulator finds running projects with a milestone not accepted', async (t) => {
      t.same(await ids('?overdue=true'), [late.id, inReview.id, suspended.id].sort());
      t.same(await ids('?overdue=true&state=active'), [late.id]);
      t.same(await ids('?overdue=false'), [onTime.id, terminated.id, draft.id].sort());
      t.same(await ids('?overdue=true', f.applicant.token), [late.id, suspended.id].sort(), 'an applicant filters only its own');
      t.same(await ids('?overdue=true', lab.principal.token), [late.id, inReview.id, suspended.id].sort(), 'the lab filters the projects it evaluates');
      const bad = await api.list(f.regulator.token, '?overdue=perhaps');
      t.equal(bad.statusCode, 400);
      t.equal(bad.json().code, 'validation_failed');
    });

    await t.test('the scheduler marks the overdue milestone in the record and stops firing it', async (t) => {
      t.match(await sweepOnce(ta.app.engine), { fired: 2, skipped: 0, failed: 0 }, 'a1 of the active project and c1 of the one in review');
      const history = (await ta.req({ method: 'GET', url: `/v1/genai-projects/${late.id}/events`, token: f.applicant.token })).json().items.filter((e: any) => e.type === 'MARK_MILESTONE_OVERDUE');
      t.equal(history.length, 1);
      t.match(history[0], { type: 'MARK_MILESTONE_OVERDUE', actor: { principal_id: null, role: 'system' }, from_state: 'active', to_state: 'active' });
      t.same(history[0].payload, { milestone_id: 'a1', due: after(10, now) }, 'the history names the milestone and its due date');
      const c = (await api.get(f.applicant.token, late.id)).json();
      t.equal(c.state, 'active');
      t.match(c.record.milestones, [
        { id: 'a1', status: 'pending', overdue: true, marked_overdue_at: ta.clock.now().toISOString() },
        { id: 'a2', status: 'pending', overdue: false },
      ]);
      t.same(c.deadlines, { 'milestone:a2': after(100, now) });
      const rows = await ta.app.db.selectFrom('deadlines').select('name').where('case_id', '=', late.id).execute();
      t.same(rows.map((r) => r.name), ['milestone:a2']);
      t.same(await ids('?overdue=true&state=active'), [late.id], 'still overdue until accepted');

      const again = fireEvent(ta.app.engine, genaiWorkflow, SYSTEM_CALLER, late.id, { type: 'MARK_MILESTONE_OVERDUE', payload: { milestone_id: 'a1', due: after(10, now) } });
      await t.rejects(again, { code: 'rule_violation', extra: { rule: 'milestoneDue' } }, 'a milestone is marked overdue once');
      const early = fireEvent(ta.app.engine, genaiWorkflow, SYSTEM_CALLER, late.id, { type: 'MARK_MILESTONE_OVERDUE', payload: { milestone_id: 'a2', due: after(100, now) } });
      await t.rejects(early, { code: 'rule_violation', extra: { rule: 'milestoneDue' } }, 'nor before it is due');
      const unnamed = fireEvent(ta.app.engine, genaiWorkflow, SYSTEM_CALLER, late.id, { type: 'MARK_MILESTONE_OVERDUE' });
      await t.rejects(unnamed, { code: 'validation_failed' }, 'a new MARK_MILESTONE_OVERDUE must say which milestone');

      const inReviewMarked = (await api.get(f.regulator.token, inReview.id)).json();
      t.equal(inReviewMarked.state, 'milestone_review');
      t.match(inReviewMarked.record.milestones, [{ id: 'c1', overdue: true }]);
      t.same(inReviewMarked.deadlines, {});
    });

    await t.test('accepting the overdue milestone takes the project off the overdue list', async (t) => {
      t.equal((await api.fire(f.applicant.token, late.id, 'SUBMIT_MILESTONE', { milestone_id: 'a1', deliverables: ['late but done'], report_sha256: SHA })).statusCode, 200);
      const accepted = await api.fire(f.regulator.token, late.id, 'ACCEPT_MILESTONE', { comments: 'Late' });
      t.equal(accepted.statusCode, 200);
      const m = accepted.json().case.record.milestones[0];
      t.match(m, { status: 'accepted', overdue: false, submissions: { count: 1 }, last_submission: { deliverables: ['late but done'] } });
      t.ok(Date.parse(m.marked_overdue_at) <= Date.parse(m.last_submission.at) && Date.parse(m.last_submission.at) <= Date.parse(m.accepted_at), 'marked overdue, then submitted, then accepted');
      const history = (await ta.req({ method: 'GET', url: `/v1/genai-projects/${late.id}/events`, token: f.applicant.token })).json().items;
      t.same(
        history.filter((e: any) => ['MARK_MILESTONE_OVERDUE', 'SUBMIT_MILESTONE', 'ACCEPT_MILESTONE'].includes(e.type)).map((e: any) => [e.type, e.payload.milestone_id ?? null]),
        [
          ['MARK_MILESTONE_OVERDUE', 'a1'],
          ['SUBMIT_MILESTONE', 'a1'],
          ['ACCEPT_MILESTONE', null],
        ],
        'the history holds what the milestone went through',
      );
      t.same(await ids('?overdue=true'), [inReview.id, suspended.id].sort());
    });

    await t.test('replays of system events match', async (t) => {
      const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token });
      t.same(v.json().failures, []);
      t.equal(v.json().ok, true);
    });
  });
});
