import { sandboxWorkflow as wf } from '../../workflows/sandbox.js';
import { finalStates } from '../../src/engine/machine.js';
import { T0, at, given } from '../helpers/machine.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const period = (startDays: number, endDays: number) => ({ start: at(startDays), end: at(endDays) });
  const admitted = () =>
    given(wf).events(['SUBMIT'], ['START_REVIEW'], ['ADMIT', { conditions: ['weekly reports'], testing_period: period(1, 181) }]);
  const testing = () => admitted().events(['START_TESTING', {}, { role: 'system', at: at(1) }]);
  const reviewing = () => given(wf).events(['SUBMIT'], ['START_REVIEW']);

  t.test('SUBMIT: draft → submitted', async (t) => {
    t.equal(given(wf).when('SUBMIT').state, 'submitted');
  });

  t.test('WITHDRAW from draft, submitted, under_review and info_requested', async (t) => {
    t.equal(given(wf).when('WITHDRAW').state, 'withdrawn');
    t.equal(given(wf).events(['SUBMIT']).when('WITHDRAW').state, 'withdrawn');
    t.equal(reviewing().when('WITHDRAW').state, 'withdrawn');
    t.equal(reviewing().events(['REQUEST_INFO', { questions: ['q'], respond_by: at(10) }]).when('WITHDRAW').state, 'withdrawn');
    t.equal(admitted().when('WITHDRAW').handled, false, 'not once admitted');
  });

  t.test('START_REVIEW: submitted → under_review', async (t) => {
    t.equal(given(wf).events(['SUBMIT']).when('START_REVIEW').state, 'under_review');
    t.equal(given(wf).when('START_REVIEW').handled, false);
  });

  t.test('REQUEST_INFO sets respond_by as a deadline; it must lie in the future', async (t) => {
    const ok = reviewing().when('REQUEST_INFO', { questions: ['What data?'], respond_by: at(10) });
    t.equal(ok.state, 'info_requested');
    t.equal((ok as any).context.record.info_request.respond_by, at(10), 'the latest request holds respond_by');
    t.same((ok as any).context.record.info_request.questions, ['What data?']);
    t.same((ok as any).context.record.info_requests, { count: 1, latest_at: T0 });
    const past = reviewing().when('REQUEST_INFO', { questions: ['q'], respond_by: at(-1) });
    t.equal((past as any).violation.rule, 'respondByInFuture');
  });

  t.test('PROVIDE_INFO: info_requested → under_review, the request marked answered (the answers are the event\'s)', async (t) => {
    const r = reviewing().events(['REQUEST_INFO', { questions: ['q'], respond_by: at(10) }]).when('PROVIDE_INFO', { answers: ['a'] }, { role: 'applicant', at: at(3) });
    t.equal(r.state, 'under_review');
    t.same((r as any).context.record.info_request, { seq: 4, questions: ['q'], respond_by: at(10), requested_at: T0, answered_at: at(3) });
    t.same((r as any).context.record.info_requests, { count: 1, latest_at: T0 });
    t.notOk(JSON.stringify((r as any).context.record).includes('"answers"'), 'the record keeps no answers');
    // A second request replaces the first as the latest; both are counted.
    const again = reviewing()
      .events(['REQUEST_INFO', { questions: ['q'], respond_by: at(10) }], ['PROVIDE_INFO', { answers: ['a'] }, { role: 'applicant', at: at(3) }])
      .when('REQUEST_INFO', { questions: ['q2'], respond_by: at(20) }, { at: at(5) });
    t.same((again as any).context.record.info_request, { seq: 6, questions: ['q2'], respond_by: at(20), requested_at: at(5) });
    t.same((again as any).context.record.info_requests, { count: 2, latest_at: at(5) });
  });

  t.test('INFO_LAPSED: info_requested → lapsed (final)', async (t) => {
    const r = reviewing().events(['REQUEST_INFO', { questions: ['q'], respond_by: at(10) }]).when('INFO_LAPSED', {}, { role: 'system', at: at(10) });
    t.equal(r.state, 'lapsed');
    t.equal(reviewing().when('INFO_LAPSED').handled, false);
  });

  t.test('ADMIT: under_review → admitted with conditions and a period of at most 24 months', async (t) => {
    const ok = reviewing().when('ADMIT', { conditions: ['c'], testing_period: period(1, 365) });
    t.equal(ok.state, 'admitted');
    t.same((ok as any).context.record.admission.conditions, ['c']);
    t.equal((ok as any).context.record.testing_period.end, at(365));
    const exactly24 = reviewing().when('ADMIT', { conditions: ['c'], testing_period: { start: '2026-07-01T00:00:00.000Z', end: '2028-07-01T00:00:00.000Z' } });
    t.equal(exactly24.state, 'admitted', '24 months exactly is allowed');
    const tooLong = reviewing().when('ADMIT', { conditions: ['c'], testing_period: { start: '2026-07-01T00:00:00.000Z', end: '2028-07-01T00:00:00.001Z' } });
    t.equal((tooLong as any).violation.rule, 'testingPeriodValid');
    t.match((tooLong as any).violation.message, /24 months/);
    const backwards = reviewing().when('ADMIT', { conditions: ['c'], testing_period: period(10, 5) });
    t.match((backwards as any).violation.message, /after/);
  });

  t.test('REJECT: under_review → rejected (final), reason kept', async (t) => {
    const r = reviewing().when('REJECT', { reason: 'insufficient safeguards' });
    t.equal(r.state, 'rejected');
    t.equal((r as any).context.record.decision.reason, 'insufficient safeguards');
  });

  t.test('START_TESTING: admitted → testing (applicant or system)', async (t) => {
    t.equal(admitted().when('START_TESTING', {}, { role: 'system' }).state, 'testing');
    t.same(wf.events.START_TESTING!.roles, ['applicant', 'system']);
  });

  t.test('SUBMIT_REPORT: testing → testing, counted in record.reports', async (t) => {
    const r = testing()
      .events(['SUBMIT_REPORT', { period_start: at(1), period_end: at(30), summary: 'first' }, { role: 'applicant', at: at(30) }])
      .when('SUBMIT_REPORT', { period_start: at(30), period_end: at(60), summary: 'second', metrics: { users: 3 } }, { role: 'applicant', at: at(61) });
    t.equal(r.state, 'testing');
    t.same((r as any).context.record.reports, { count: 2, latest_at: at(61) });
    const bad = testing().when('SUBMIT_REPORT', { period_start: at(30), period_end: at(1), summary: 's' }, { at: at(40) });
    t.equal((bad as any).violation.rule, 'reportPeriodValid');
  });

  t.test('SUBMIT_REPORT: the period lies within the testing period and has ended', async (t) => {
    // Testing period: days 1 to 181, started by the system on day 1.
    const report = (start: number, end: number, now: number) =>
      testing().when('SUBMIT_REPORT', { period_start: at(start), period_end: at(end), summary: 's' }, { role: 'applicant', at: at(now) });
    for (const [name, start, end, now, message] of [
      ['years before testing began', -2000, -1970, 40, /within the testing period: period_start is before/],
      ['starting the day before testing began', 0, 10, 40, /period_start is before/],
      ['ending after the testing period', 150, 182, 190, /period_end is after its end/],
      ['not yet ended', 30, 45, 40, /must end by now/],
    ] as const) {
      const r = report(start, end, now);
      t.equal((r as any).violation?.rule, 'reportPeriodValid', name);
      t.match((r as any).violation?.message, message, name);
    }
    t.equal(report(1, 40, 40).state, 'testing', 'from the first day of testing to now');
    t.equal(report(150, 181, 200).state, 'testing', 'up to the end of the testing period');
    const early = admitted().events(['START_TESTING', {}, { role: 'applicant', at: at(-5) }]);
    t.equal(early.when('SUBMIT_REPORT', { period_start: at(-5), period_end: at(0), summary: 's' }, { role: 'applicant', at: at(0) }).state, 'testing', 'testing started early by the applicant counts');
    const extended = testing().events(['EXTEND', { new_end: at(300) }, { at: at(100) }]);
    t.equal(extended.when('SUBMIT_REPORT', { period_start: at(180), period_end: at(250), summary: 's' }, { role: 'applicant', at: at(260) }).state, 'testing', 'an extension extends the bound');
  });

  t.test('REPORT_INCIDENT: minor and serious stay in testing, critical suspends', async (t) => {
    for (const severity of ['minor', 'serious']) {
      const r = testing().when('REPORT_INCIDENT', { severity, occurred_at: at(2), description: 'd' }, { role: 'applicant' });
      t.equal(r.state, 'testing', severity);
      t.same((r as any).context.record.incidents, { count: 1, latest_at: T0 });
      t.same((r as any).context.record.suspensions, { count: 0, latest_at: null });
    }
    const c = testing().when('REPORT_INCIDENT', { severity: 'critical', occurred_at: at(2), description: 'arm struck a worker' }, { role: 'regulator', at: at(3) });
    t.equal(c.state, 'suspended');
    t.same((c as any).context.record.incidents, { count: 1, latest_at: at(3) });
    t.same((c as any).context.record.suspensions, { count: 1, latest_at: at(3) });
    t.same((c as any).context.record.suspension, { seq: 6, reason: 'critical incident: arm struck a worker', at: at(3), by: 'regulator' });
  });

  t.test('SUSPEND: testing → suspended; REINSTATE: suspended → testing', async (t) => {
    const s = testing().events(['SUSPEND', { reason: 'breach' }]);
    t.equal(s.state, 'suspended');
    const r = s.when('REINSTATE', {}, { at: at(9) });
    t.equal(r.state, 'testing');
    t.same((r as any).context.record.suspension, { seq: 6, reason: 'breach', at: T0, by: 'regulator', reinstated_at: at(9) });
    t.same((r as any).context.record.suspensions, { count: 1, latest_at: T0 });
    const again = testing()
      .events(['SUSPEND', { reason: 'breach' }], ['REINSTATE', {}, { at: at(9) }])
      .when('SUSPEND', { reason: 'second breach' }, { at: at(12) });
    t.same((again as any).context.record.suspension, { seq: 8, reason: 'second breach', at: at(12), by: 'regulator' }, 'the latest suspension, not yet lifted');
    t.same((again as any).context.record.suspensions, { count: 2, latest_at: at(12) });
  });

  t.test('EXTEND: later end only, at most twice, 36 months in all', async (t) => {
    const base = () => testing();
    const one = base().when('EXTEND', { new_end: at(300) });
    t.equal(one.state, 'testing');
    t.equal((one as any).context.record.testing_period.end, at(300));
    t.same((one as any).context.record.extensions, { count: 1, latest_at: T0 });
    t.match((base().when('EXTEND', { new_end: at(100) }) as any).violation.message, /later than the current end/);
    const twice = base().events(['EXTEND', { new_end: at(300) }], ['EXTEND', { new_end: at(400) }]);
    t.match((twice.when('EXTEND', { new_end: at(500) }) as any).violation.message, /at most 2 times/);
    // start is day 1 (2026-06-02); 36 months later is 2029-06-02
    t.equal(base().when('EXTEND', { new_end: '2029-06-02T00:00:00.000Z' }).state, 'testing');
    t.match((base().when('EXTEND', { new_end: '2029-06-02T00:00:00.001Z' }) as any).violation.message, /36 months/);
  });

  t.test('REQUEST_EXIT: testing → exit_review', async (t) => {
    t.equal(testing().when('REQUEST_EXIT', {}, { role: 'applicant' }).state, 'exit_review');
  });

  t.test('PERIOD_ENDED: testing or suspended → exit_review', async (t) => {
    t.equal(testing().when('PERIOD_ENDED', {}, { role: 'system' }).state, 'exit_review');
    t.equal(testing().events(['SUSPEND', { reason: 'r' }]).when('PERIOD_ENDED', {}, { role: 'system' }).state, 'exit_review');
    t.equal(admitted().when('PERIOD_ENDED').handled, false);
  });

  t.test('SUBMIT_EXIT_REPORT then CONCLUDE; CONCLUDE needs an exit report', async (t) => {
    const exit = () => testing().events(['REQUEST_EXIT']);
    t.equal((exit().when('CONCLUDE', { outcome: 'graduated' }) as any).violation.rule, 'exitReportIn');
    const done = exit()
      .events(['SUBMIT_EXIT_REPORT', { outcomes: 'o', lessons: 'l', compliance_statement: 'c' }])
      .when('CONCLUDE', { outcome: 'not_graduated', remarks: 'r' });
    t.equal(done.state, 'exited');
    t.equal((done as any).context.record.decision.outcome, 'not_graduated');
    t.same((done as any).context.record.exit_reports, { count: 1, latest_at: T0 });
  });

  t.test('TERMINATE from admitted, testing and suspended', async (t) => {
    t.equal(admitted().when('TERMINATE', { reason: 'r' }).state, 'terminated');
    t.equal(testing().when('TERMINATE', { reason: 'r' }).state, 'terminated');
    t.equal(testing().events(['SUSPEND', { reason: 'r' }]).when('TERMINATE', { reason: 'r' }).state, 'terminated');
    t.equal(reviewing().when('TERMINATE', { reason: 'r' }).handled, false);
  });

  t.test('final states refuse every event', async (t) => {
    t.same(finalStates(wf).sort(), ['exited', 'lapsed', 'rejected', 'terminated', 'withdrawn']);
    for (const state of finalStates(wf)) {
      for (const type of Object.keys(wf.events)) {
        t.equal(given(wf).at(state, wf.initialRecord()).when(type).handled, false, `${state} refuses ${type}`);
      }
    }
  });

  t.test('every event in the catalogue is handled somewhere, and every handled event is catalogued', async (t) => {
    const handled = new Set<string>();
    for (const node of Object.values(wf.machine.root.states)) for (const type of node.transitions.keys()) handled.add(type);
    t.same([...handled].sort(), Object.keys(wf.events).sort());
    for (const [type, spec] of Object.entries(wf.events)) {
      t.ok(spec.roles.length > 0, `${type} has roles`);
    }
  });
});
