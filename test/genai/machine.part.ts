import { deadlinesOf, finalStates } from '../../src/engine/machine.js';
import { genaiWorkflow } from '../../workflows/genai.js';
import { APPLICANT_ORG, LAB_ID, SHA, T0, TO_ACTIVE, after, application, given, labFacts } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const submitM = (id: string) => ['SUBMIT_MILESTONE', { milestone_id: id, deliverables: [`${id} report`], report_sha256: SHA }] as [string, any];
  const evaluation = (verdict: 'pass' | 'fail') => ['POST_SAFETY_EVALUATION', { benchmark: 'CValues', metrics: { refusal_rate: 0.97 }, verdict }] as [string, any];
  const ALL_ACCEPTED: Array<[string, any?]> = [submitM('m1'), ['ACCEPT_MILESTONE'], submitM('m2'), ['ACCEPT_MILESTONE']];

  t.test('the events catalogue gives each event the roles of SPEC §3.3', async (t) => {
    const roles = Object.fromEntries(Object.entries(genaiWorkflow.events).filter(([, s]) => !s.internal).map(([k, s]) => [k, s.roles]));
    t.same(roles, {
      SUBMIT: ['applicant'],
      WITHDRAW: ['applicant'],
      START_REVIEW: ['regulator'],
      APPROVE: ['regulator'],
      REJECT: ['regulator'],
      SUBMIT_MILESTONE: ['applicant'],
      ACCEPT_MILESTONE: ['regulator'],
      RETURN_MILESTONE: ['regulator'],
      POST_SAFETY_EVALUATION: ['lab'],
      REQUEST_FINAL_EVALUATION: ['applicant'],
      COMPLETE: ['regulator'],
      MARK_MILESTONE_OVERDUE: ['system'],
      SUSPEND: ['regulator'],
      RESUME: ['regulator'],
      TERMINATE: ['regulator'],
    });
    t.same(finalStates(genaiWorkflow).sort(), ['completed', 'rejected', 'terminated', 'withdrawn']);
    t.equal(genaiWorkflow.productOf(application()), null);
  });

  t.test('SUBMIT: draft → submitted', async (t) => {
    const r = given().when('SUBMIT', {}, { at: after(1) });
    t.equal(r.state, 'submitted');
    t.equal(r.context!.record.submitted_at, after(1));
  });

  t.test('REPLACE_APPLICATION replaces the draft and nothing after it', async (t) => {
    const replaced = application(T0, { title: 'A better title' });
    t.equal(given().when('REPLACE_APPLICATION', replaced).context!.application.title, 'A better title');
    t.equal(given().events(['SUBMIT']).when('REPLACE_APPLICATION', replaced).handled, false);
  });

  t.test('WITHDRAW: draft, submitted, under_review → withdrawn; not once approved', async (t) => {
    t.equal(given().when('WITHDRAW').state, 'withdrawn');
    t.equal(given().events(['SUBMIT']).when('WITHDRAW').state, 'withdrawn');
    const r = given().events(['SUBMIT'], ['START_REVIEW']).when('WITHDRAW', {}, { at: after(2) });
    t.equal(r.state, 'withdrawn');
    t.match(r.context!.record.decision, { type: 'WITHDRAW', at: after(2) });
    t.equal(given().events(...TO_ACTIVE).when('WITHDRAW').handled, false);
  });

  t.test('START_REVIEW: submitted → under_review, only from submitted', async (t) => {
    t.equal(given().events(['SUBMIT']).when('START_REVIEW').state, 'under_review');
    t.equal(given().when('START_REVIEW').handled, false);
  });

  t.test('APPROVE: under_review → active with an accredited evaluating lab', async (t) => {
    const r = given().events(['SUBMIT'], ['START_REVIEW']).when('APPROVE', { evaluating_lab_id: LAB_ID, comments: 'Mind the data rules' }, { facts: labFacts(), at: after(3) });
    t.equal(r.state, 'active');
    const record = r.context!.record;
    t.same(record.approval.evaluating_lab, { id: LAB_ID, name: 'GBA GenAI Test Lab', accreditation_number: 'CNAS-L0001' });
    t.equal(record.approval.approved_at, after(3));
    t.same(
      record.milestones.map((m: any) => [m.id, m.status, m.overdue, m.due]),
      [
        ['m1', 'pending', false, after(30)],
        ['m2', 'pending', false, after(60)],
      ],
    );
    t.same(record.milestones[0].submissions, { count: 0, latest_at: null }, 'nothing submitted yet');
    t.same(record.review_comments, { count: 1, latest_at: after(3) }, 'the comments are counted; what they say is the APPROVE event in the history');
    t.equal(genaiWorkflow.labOf(r.context!), LAB_ID, 'the evaluating lab may now see the project');
    t.equal(genaiWorkflow.labOf(given().context), null);
  });

  t.test('APPROVE is refused unless the lab is a lab, accredited, valid at the event and not the applicant', async (t) => {
    const review = () => given().events(['SUBMIT'], ['START_REVIEW']);
    const approve = (facts: unknown, at = T0) => review().when('APPROVE', { evaluating_lab_id: LAB_ID }, { facts, at });
    const cases: Array<[string, unknown, RegExp, string?]> = [
      ['no such organization', { lab: null }, /names no organization/],
      ['not a lab', labFacts({ kind: 'enterprise', accreditation: null }), /must name a lab/],
      ['not accredited', labFacts({ accreditation: null }), /holds no accreditation/],
      ['accreditation expired', labFacts(), /expired/, after(366)],
      ['the applicant itself', labFacts({ id: APPLICANT_ORG }), /its own organization/],
    ];
    for (const [name, facts, message, at] of cases) {
      const r = approve(facts, at);
      t.equal(r.state, 'under_review', name);
      t.equal(r.violation?.rule, 'evaluatingLabAccredited', name);
      t.match(r.violation?.message, message, name);
    }
  });

  t.test('REJECT: under_review → rejected, with the reason', async (t) => {
    const r = given().events(['SUBMIT'], ['START_REVIEW']).when('REJECT', { reason: 'Out of scope' });
    t.equal(r.state, 'rejected');
    t.match(r.context!.record.decision, { type: 'REJECT', reason: 'Out of scope' });
    t.equal(given().events(['SUBMIT']).when('REJECT', { reason: 'x' }).handled, false);
  });

  t.test('SUBMIT_MILESTONE: active → milestone_review, one at a time', async (t) => {
    const g = given().events(...TO_ACTIVE);
    const r = g.when(...submitM('m1'));
    t.equal(r.state, 'milestone_review');
    t.equal(r.context!.record.milestone_in_review, 'm1');
    t.same(r.context!.record.milestones[0], {
      id: 'm1',
      title: 'Attack taxonomy',
      due: after(30),
      status: 'submitted',
      overdue: false,
      submissions: { count: 1, latest_at: T0 },
      last_submission: { seq: 5, at: T0, by: null, deliverables: ['m1 report'], report_sha256: SHA },
    });
    g.events(submitM('m1'));
    t.equal(g.when(...submitM('m2')).handled, false, 'a second milestone waits until the first is decided');
  });

  t.test('SUBMIT_MILESTONE refuses an unknown milestone', async (t) => {
    const r = given().events(...TO_ACTIVE).when(...submitM('m9'));
    t.equal(r.state, 'active');
    t.equal(r.violation?.rule, 'milestoneSubmittable');
    t.match(r.violation?.message, /"m9" is not a milestone/);
  });

  t.test('SUBMIT_MILESTONE refuses a milestone already accepted', async (t) => {
    const r = given().events(...TO_ACTIVE, submitM('m1'), ['ACCEPT_MILESTONE']).when(...submitM('m1'));
    t.equal(r.violation?.rule, 'milestoneSubmittable');
    t.match(r.violation?.message, /already accepted/);
  });

  t.test('ACCEPT_MILESTONE: milestone_review → active, the milestone accepted with the comments', async (t) => {
    const r = given().events(...TO_ACTIVE, submitM('m1')).when('ACCEPT_MILESTONE', { comments: 'Thorough' }, { at: after(20) });
    t.equal(r.state, 'active');
    const m1 = r.context!.record.milestones[0];
    t.match(m1, { status: 'accepted', accepted_at: after(20), submissions: { count: 1 } });
    t.notOk('history' in m1, 'the milestone keeps no list of its events');
    t.equal(r.context!.record.milestone_in_review, null);
    t.same(r.context!.record.review_comments, { count: 1, latest_at: after(20) });
    t.same(given().events(...TO_ACTIVE, submitM('m1')).when('ACCEPT_MILESTONE').context!.record.review_comments, { count: 0, latest_at: null }, 'no comments, nothing counted');
    t.equal(given().events(...TO_ACTIVE).when('ACCEPT_MILESTONE').handled, false);
  });

  t.test('RETURN_MILESTONE: milestone_review → active, and the returned milestone can be resubmitted', async (t) => {
    const g = given().events(...TO_ACTIVE, submitM('m1'));
    const r = g.when('RETURN_MILESTONE', { comments: 'Add the attack success rates' }, { at: after(10) });
    t.equal(r.state, 'active');
    t.match(r.context!.record.milestones[0], { status: 'returned', returned_at: after(10) });
    t.same(r.context!.record.review_comments, { count: 1, latest_at: after(10) });
    g.events(['RETURN_MILESTONE', { comments: 'Add the attack success rates' }, { at: after(10) }]);
    const again = g.when('SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: ['m1 report v2'], report_sha256: 'b'.repeat(64) }, { at: after(12) });
    t.equal(again.state, 'milestone_review');
    t.same(
      again.context!.record.milestones[0],
      {
        id: 'm1',
        title: 'Attack taxonomy',
        due: after(30),
        status: 'submitted',
        overdue: false,
        submissions: { count: 2, latest_at: after(12) },
        last_submission: { seq: again.context!.record.milestones[0].last_submission.seq, at: after(12), by: null, deliverables: ['m1 report v2'], report_sha256: 'b'.repeat(64) },
        returned_at: after(10),
      },
      'the latest submission only, the earlier one and the return counted',
    );
  });

  t.test('POST_SAFETY_EVALUATION: active → active, recorded as an interim evaluation of the evaluating lab', async (t) => {
    const r = given().events(...TO_ACTIVE).when('POST_SAFETY_EVALUATION', evaluation('fail')[1], { at: after(7) });
    t.equal(r.state, 'active');
    t.same(r.context!.record.latest_evaluation, { seq: 5, benchmark: 'CValues', metrics: { refusal_rate: 0.97 }, verdict: 'fail', stage: 'interim', lab_id: LAB_ID, posted_at: after(7), by: null });
    t.same(r.context!.record.evaluations, { count: 1, latest_at: after(7) });
    t.same(r.context!.record.passed_evaluations, { count: 0, latest_at: null }, 'a failed one is not a passed one');
    t.equal(given().events(...TO_ACTIVE, submitM('m1')).when(...evaluation('pass')).handled, false, 'not while a milestone is in review');
    t.equal(given().events(['SUBMIT'], ['START_REVIEW']).when(...evaluation('pass')).handled, false, 'not before approval');
  });

  t.test('REQUEST_FINAL_EVALUATION: active → final_evaluation only when every milestone is accepted', async (t) => {
    const early = given().events(...TO_ACTIVE, submitM('m1'), ['ACCEPT_MILESTONE']).when('REQUEST_FINAL_EVALUATION');
    t.equal(early.state, 'active');
    t.equal(early.violation?.rule, 'allMilestonesAccepted');
    t.match(early.violation?.message, /not yet accepted: m2/);
    const r = given().events(...TO_ACTIVE, ...ALL_ACCEPTED).when('REQUEST_FINAL_EVALUATION', {}, { at: after(50) });
    t.equal(r.state, 'final_evaluation');
    t.equal(r.context!.record.final_evaluation_requested_at, after(50));
  });

  t.test('POST_SAFETY_EVALUATION during the final evaluation is recorded as final', async (t) => {
    const r = given().events(...TO_ACTIVE, ...ALL_ACCEPTED, ['REQUEST_FINAL_EVALUATION']).when(...evaluation('pass'));
    t.equal(r.state, 'final_evaluation');
    t.match(r.context!.record.latest_evaluation, { stage: 'final', verdict: 'pass' });
    t.match(r.context!.record, { evaluations: { count: 1 }, passed_evaluations: { count: 1 } });
  });

  t.test('COMPLETE: final_evaluation → completed only with a passed safety evaluation', async (t) => {
    const failedOnly = given().events(...TO_ACTIVE, evaluation('fail'), ...ALL_ACCEPTED, ['REQUEST_FINAL_EVALUATION']).when('COMPLETE');
    t.equal(failedOnly.state, 'final_evaluation');
    t.equal(failedOnly.violation?.rule, 'passedEvaluation');
    const r = given()
      .events(...TO_ACTIVE, evaluation('fail'), evaluation('pass'), ...ALL_ACCEPTED, ['REQUEST_FINAL_EVALUATION'])
      .when('COMPLETE', { comments: 'Well done' }, { at: after(90) });
    t.equal(r.state, 'completed');
    t.match(r.context!.record.completion, { completed_at: after(90) });
    t.same(r.context!.record.review_comments, { count: 1, latest_at: after(90) });
    const passedThenFailed = given()
      .events(...TO_ACTIVE, evaluation('pass'), ...ALL_ACCEPTED, ['REQUEST_FINAL_EVALUATION'], evaluation('fail'))
      .when('COMPLETE');
    t.equal(passedThenFailed.context!.record.latest_evaluation.verdict, 'fail');
    t.equal(passedThenFailed.state, 'completed', 'a passed evaluation earlier than the latest one is enough, as before');
    t.equal(given().events(...TO_ACTIVE, evaluation('pass')).when('COMPLETE').handled, false, 'not before the final evaluation');
  });

  t.test('SUSPEND: active → suspended with the reason; RESUME: suspended → active', async (t) => {
    const g = given().events(...TO_ACTIVE);
    const s = g.when('SUSPEND', { reason: 'Data leak under investigation' }, { at: after(5) });
    t.equal(s.state, 'suspended');
    t.same(s.context!.record.suspension, { seq: 5, reason: 'Data leak under investigation', at: after(5), by: null });
    t.same(s.context!.record.suspensions, { count: 1, latest_at: after(5) });
    g.events(['SUSPEND', { reason: 'Data leak under investigation' }, { at: after(5) }]);
    t.equal(g.when(...submitM('m1')).handled, false, 'no milestones while suspended');
    const r = g.when('RESUME', { comments: 'Cleared' }, { at: after(9) });
    t.equal(r.state, 'active');
    t.same(r.context!.record.suspension, { seq: g.record.suspension.seq, reason: 'Data leak under investigation', at: after(5), by: null, resumed_at: after(9), resume_comments: 'Cleared' });
    t.same(r.context!.record.review_comments, { count: 1, latest_at: after(9) });
    t.equal(g.when('RESUME', {}).state, 'active', 'comments are optional');
    g.events(['RESUME', {}, { at: after(9) }], ['SUSPEND', { reason: 'Second incident' }, { at: after(11) }]);
    t.match(g.record.suspension, { reason: 'Second incident', at: after(11), by: null }, 'the latest suspension');
    t.notOk('resumed_at' in g.record.suspension, 'not yet lifted');
    t.same(g.record.suspensions, { count: 2, latest_at: after(11) });
    t.equal(given().events(...TO_ACTIVE, submitM('m1')).when('SUSPEND', { reason: 'x' }).handled, false);
  });

  t.test('TERMINATE: active, suspended, milestone_review, final_evaluation → terminated', async (t) => {
    const from: Record<string, Array<[string, any?, any?]>> = {
      active: TO_ACTIVE,
      suspended: [...TO_ACTIVE, ['SUSPEND', { reason: 'x' }]],
      milestone_review: [...TO_ACTIVE, submitM('m1')],
      final_evaluation: [...TO_ACTIVE, ...ALL_ACCEPTED, ['REQUEST_FINAL_EVALUATION']],
    };
    for (const [state, events] of Object.entries(from)) {
      const g = given().events(...events);
      t.equal(g.state, state);
      const r = g.when('TERMINATE', { reason: 'Breach of data handling' });
      t.equal(r.state, 'terminated', state);
      t.match(r.context!.record.decision, { type: 'TERMINATE', reason: 'Breach of data handling' });
    }
    t.equal(given().events(['SUBMIT'], ['START_REVIEW']).when('TERMINATE', { reason: 'x' }).handled, false);
  });

  t.test('final states take no events', async (t) => {
    const g = given().events(['WITHDRAW']);
    for (const type of Object.keys(genaiWorkflow.events)) t.equal(g.when(type).handled, false, type);
  });

  t.test('milestone due dates are deadlines while the project runs, fired as MARK_MILESTONE_OVERDUE', async (t) => {
    const g = given().events(...TO_ACTIVE);
    t.same(deadlinesOf(genaiWorkflow, 'active', g.context), [
      { name: 'milestone:m1', at: after(30), event: 'MARK_MILESTONE_OVERDUE' },
      { name: 'milestone:m2', at: after(60), event: 'MARK_MILESTONE_OVERDUE' },
    ]);
    g.events(submitM('m1'));
    t.same(deadlinesOf(genaiWorkflow, 'milestone_review', g.context).map((d) => d.name), ['milestone:m1', 'milestone:m2']);
    g.events(['ACCEPT_MILESTONE']);
    t.same(deadlinesOf(genaiWorkflow, 'active', g.context).map((d) => d.name), ['milestone:m2'], 'an accepted milestone is no longer due');
    t.same(deadlinesOf(genaiWorkflow, 'suspended', g.context), [], 'none while suspended');
    t.same(deadlinesOf(genaiWorkflow, 'under_review', given().events(['SUBMIT'], ['START_REVIEW']).context), []);
  });

  t.test('MARK_MILESTONE_OVERDUE marks every milestone due by event.at and not accepted', async (t) => {
    const g = given().events(...TO_ACTIVE);
    const early = g.when('MARK_MILESTONE_OVERDUE', {}, { at: after(29) });
    t.equal(early.violation?.rule, 'milestoneDue', 'nothing is due yet');
    const r = g.when('MARK_MILESTONE_OVERDUE', {}, { at: after(61) });
    t.equal(r.state, 'active');
    t.same(r.context!.record.milestones.map((m: any) => [m.id, m.overdue, m.marked_overdue_at]), [
      ['m1', true, after(61)],
      ['m2', true, after(61)],
    ]);
    t.same(deadlinesOf(genaiWorkflow, 'active', r.context!), [], 'a marked milestone is not fired again');
  });

  t.test('MARK_MILESTONE_OVERDUE naming a milestone marks that one only, once it is due', async (t) => {
    const g = given().events(...TO_ACTIVE);
    const mark = (id: string, due: string, at: string) => g.when('MARK_MILESTONE_OVERDUE', { milestone_id: id, due }, { at });
    const r = mark('m1', after(30), after(61));
    t.same(r.context!.record.milestones.map((m: any) => [m.id, m.overdue]), [['m1', true], ['m2', false]], 'm2, due too, waits for its own event');
    t.same(r.context!.record.milestones[0], { id: 'm1', title: 'Attack taxonomy', due: after(30), status: 'pending', overdue: true, marked_overdue_at: after(61), submissions: { count: 0, latest_at: null } });
    for (const [name, x] of [
      ['before it is due', mark('m1', after(30), after(29))],
      ['a due date that is not the milestone\'s', mark('m1', after(31), after(61))],
      ['an unknown milestone', mark('m9', after(30), after(61))],
    ] as const) t.equal((x as any).violation?.rule, 'milestoneDue', name);
    g.events(['MARK_MILESTONE_OVERDUE', { milestone_id: 'm1', due: after(30) }, { at: after(31) }]);
    t.equal(mark('m1', after(30), after(32)).violation?.rule, 'milestoneDue', 'marked once');
    t.same(deadlinesOf(genaiWorkflow, 'active', g.context).map((d) => d.name), ['milestone:m2']);
  });

  t.test('MARK_MILESTONE_OVERDUE in milestone_review keeps the review; acceptance clears the overdue flag', async (t) => {
    const g = given().events(...TO_ACTIVE, submitM('m1'));
    const r = g.when('MARK_MILESTONE_OVERDUE', {}, { at: after(31) });
    t.equal(r.state, 'milestone_review');
    t.same(r.context!.record.milestones.map((m: any) => m.overdue), [true, false]);
    g.events(['MARK_MILESTONE_OVERDUE', {}, { at: after(31) }]);
    t.equal(g.when('MARK_MILESTONE_OVERDUE', {}, { at: after(32) }).violation?.rule, 'milestoneDue', 'an overdue milestone is marked once');
    g.events(['ACCEPT_MILESTONE', {}, { at: after(33) }]);
    t.match(g.context.record.milestones[0], { status: 'accepted', overdue: false, marked_overdue_at: after(31), accepted_at: after(33), submissions: { count: 1, latest_at: T0 } });
    t.equal(given().events(...TO_ACTIVE, ['SUSPEND', { reason: 'x' }]).when('MARK_MILESTONE_OVERDUE', {}, { at: after(90) }).handled, false);
  });

  t.test('checkApplication refuses repeated milestone ids, naming them', async (t) => {
    const lookup = {} as never;
    t.equal(await genaiWorkflow.checkApplication!(lookup, application(), APPLICANT_ORG), null);
    const dup = application(T0, {
      milestones: [
        { id: 'm1', title: 'a', due: after(1) },
        { id: 'm2', title: 'b', due: after(2) },
        { id: 'm1', title: 'c', due: after(3) },
      ],
    });
    t.match((await genaiWorkflow.checkApplication!(lookup, dup, APPLICANT_ORG))?.en, /milestones: each id must be unique; repeated: m1/);
  });
});
