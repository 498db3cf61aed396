// A sandbox case's record is bounded (SPEC §2, issue 19): what accumulates (information requests,
// reports, incidents, suspensions, extensions, exit reports) is counted there, {count, latest_at},
// and the items themselves are events, read from the case's history. However long a case lives its
// record stays the same size, the audit verification still rebuilds it exactly from the history,
// and the rules that count (EXTEND at most twice, CONCLUDE after an exit report) refuse as before.
import { sql } from '../../src/db/kysely.js';
import { TestClock, buildTestApp } from '../helpers/app.js';
import { day, sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t, { clock: new TestClock(Date.parse('2026-06-01T08:00:00Z')) });
  const s = await sandboxCast(ta);
  const A = s.applicant.token;
  const R = s.regulator.token;
  const minute = 60_000;

  const verify = async () => {
    const r = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R });
    if (r.statusCode !== 200) throw new Error(`verify: ${r.statusCode} ${r.body}`);
    return r.json() as { ok: boolean; failures: Array<{ case_id: string; seq: number; reason: string }>; cases_checked: number };
  };

  /** The paths of every array in a value (a bounded record holds only the payload lists of its latest items). */
  const arraysIn = (value: unknown, path = 'record'): string[] => {
    if (Array.isArray(value)) return [path];
    if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => arraysIn(v, `${path}.${k}`));
    return [];
  };

  /** Fires an event a minute after the last one, so that each event has a time of its own. */
  const next = async (id: string, token: string, type: string, payload?: unknown) => {
    ta.clock.advance(minute);
    return s.must(id, token, type, payload);
  };

  /** A case admitted after two rounds of questions, testing a day later. */
  const testingCase = async () => {
    const c = await s.create();
    await next(c.id, A, 'SUBMIT');
    await next(c.id, R, 'START_REVIEW');
    await next(c.id, R, 'REQUEST_INFO', { questions: ['Which hospitals?'], respond_by: s.iso(14 * day) });
    await next(c.id, A, 'PROVIDE_INFO', { answers: ['Two in Futian'] });
    await next(c.id, R, 'REQUEST_INFO', { questions: ['Which wards?', 'How many clinicians?'], respond_by: s.iso(14 * day) });
    await next(c.id, A, 'PROVIDE_INFO', { answers: ['Emergency only', 'Twelve'] });
    await next(c.id, R, 'ADMIT', { conditions: ['monthly reports', 'a clinician confirms every priority'], testing_period: { start: s.iso(day), end: s.iso(180 * day) } });
    ta.clock.advance(day);
    await next(c.id, A, 'START_TESTING');
    return c as { id: string };
  };

  const report = (summary: string) => ({ period_start: s.iso(-minute), period_end: s.iso(0), summary });

  t.test('after many items of each kind the record holds their counts and the latest times, and no lists', async (t) => {
    const c = await testingCase();
    for (let i = 0; i < 5; i++) {
      ta.clock.advance(minute);
      await s.must(c.id, A, 'SUBMIT_REPORT', report(`report ${i}`));
    }
    await next(c.id, A, 'REPORT_INCIDENT', { severity: 'minor', occurred_at: s.iso(-minute), description: 'sensor glitch' });
    await next(c.id, A, 'REPORT_INCIDENT', { severity: 'serious', occurred_at: s.iso(-minute), description: 'wrong priority shown' });
    await next(c.id, R, 'REPORT_INCIDENT', { severity: 'critical', occurred_at: s.iso(-minute), description: 'collision' });
    await next(c.id, R, 'REINSTATE');
    await next(c.id, R, 'SUSPEND', { reason: 'breach of conditions' });
    await next(c.id, R, 'REINSTATE');
    await next(c.id, R, 'SUSPEND', { reason: 'a second breach' });
    const reinstated = await next(c.id, R, 'REINSTATE');
    const ends = [s.iso(200 * day), s.iso(220 * day)];
    for (const new_end of ends) await next(c.id, R, 'EXTEND', { new_end });
    const third = await s.fire(c.id, R, 'EXTEND', { new_end: s.iso(240 * day) });
    t.equal(third.statusCode, 422, 'a third extension is refused, counted from the record');
    t.match(third.json(), { code: 'rule_violation', rule: 'extensionAllowed', detail: 'a testing period may be extended at most 2 times' });
    await next(c.id, A, 'REQUEST_EXIT');
    const early = await s.fire(c.id, R, 'CONCLUDE', { outcome: 'graduated' });
    t.equal(early.statusCode, 422, 'CONCLUDE before an exit report is refused');
    t.match(early.json(), { code: 'rule_violation', rule: 'exitReportIn', detail: 'CONCLUDE needs an exit report (SUBMIT_EXIT_REPORT) first' });
    await next(c.id, A, 'SUBMIT_EXIT_REPORT', { outcomes: 'o1', lessons: 'l1', compliance_statement: 'c1' });
    await next(c.id, A, 'SUBMIT_EXIT_REPORT', { outcomes: 'o2', lessons: 'l2', compliance_statement: 'c2' });

    const history = await s.history(c.id);
    const of = (...types: string[]) => history.filter((e) => types.includes(e.type));
    const tally = (...types: string[]) => ({ count: of(...types).length, latest_at: of(...types).at(-1)?.at ?? null });
    const lastRequest = of('REQUEST_INFO').at(-1)!;
    const lastSuspension = of('SUSPEND').at(-1)!;
    const admit = of('ADMIT')[0]!;
    const got = await s.get(c.id);
    t.equal(got.state, 'exit_review');
    t.same(
      got.record,
      {
        info_requests: { count: 2, latest_at: lastRequest.at },
        info_request: { seq: lastRequest.seq, questions: ['Which wards?', 'How many clinicians?'], respond_by: lastRequest.payload.respond_by, requested_at: lastRequest.at, answered_at: of('PROVIDE_INFO').at(-1)!.at },
        admission: { conditions: ['monthly reports', 'a clinician confirms every priority'], admitted_at: admit.at, by: s.regulator.id },
        testing_period: { start: admit.payload.testing_period.start, end: ends[1] },
        testing_started_at: of('START_TESTING')[0]!.at,
        extensions: tally('EXTEND'),
        reports: tally('SUBMIT_REPORT'),
        incidents: tally('REPORT_INCIDENT'),
        suspensions: { count: 3, latest_at: lastSuspension.at },
        suspension: { seq: lastSuspension.seq, reason: 'a second breach', at: lastSuspension.at, by: 'regulator', reinstated_at: reinstated.event.at },
        exit_reports: tally('SUBMIT_EXIT_REPORT'),
        exit_requested_at: of('REQUEST_EXIT')[0]!.at,
      },
      'exactly the bounded record',
    );
    t.same([got.record.reports.count, got.record.incidents.count, got.record.extensions.count, got.record.exit_reports.count], [5, 3, 2, 2]);
    t.same(arraysIn(got.record).sort(), ['record.admission.conditions', 'record.info_request.questions'], 'no list of items, only the payload lists of the admission and the latest request');

    // What the record no longer lists is in the history, in full.
    t.same(of('REQUEST_INFO', 'PROVIDE_INFO').map((e) => e.payload.questions ?? e.payload.answers), [['Which hospitals?'], ['Two in Futian'], ['Which wards?', 'How many clinicians?'], ['Emergency only', 'Twelve']]);
    t.same(of('SUBMIT_REPORT').map((e) => e.payload.summary), ['report 0', 'report 1', 'report 2', 'report 3', 'report 4']);
    t.same(of('REPORT_INCIDENT').map((e) => [e.payload.severity, e.payload.description, e.actor.role]), [['minor', 'sensor glitch', 'applicant'], ['serious', 'wrong priority shown', 'applicant'], ['critical', 'collision', 'regulator']]);
    t.same(of('REPORT_INCIDENT', 'SUSPEND').filter((e) => e.to_state === 'suspended').map((e) => e.payload.reason ?? `critical incident: ${e.payload.description}`), ['critical incident: collision', 'breach of conditions', 'a second breach'], 'each suspension and why');
    t.same(of('EXTEND').map((e) => e.payload.new_end), ends, 'each extension and its new end');
    t.same(of('SUBMIT_EXIT_REPORT').map((e) => e.payload.outcomes), ['o1', 'o2']);

    const v = await verify();
    t.equal(v.ok, true, `the audit verifies: ${JSON.stringify(v.failures)}`);

    const done = await next(c.id, R, 'CONCLUDE', { outcome: 'graduated' });
    t.equal(done.case.state, 'exited');
    t.same(done.case.record.exit_reports, got.record.exit_reports);
  });

  t.test('the record after 60 reports is as large as after 1', async (t) => {
    const c = await testingCase();
    const stored = async () => {
      const row = await sql<{ bytes: number; text: string }>`select octet_length(record::text) as bytes, record::text as text from cases where id = ${c.id}`.execute(ta.app.db);
      return { bytes: Number(row.rows[0]!.bytes), text: row.rows[0]!.text };
    };
    ta.clock.advance(minute);
    const first = await s.must(c.id, A, 'SUBMIT_REPORT', report('report 1'));
    const afterOne = { answered: JSON.stringify(first.case.record), stored: await stored() };
    let last = first;
    for (let i = 2; i <= 60; i++) {
      ta.clock.advance(minute);
      last = await s.must(c.id, A, 'SUBMIT_REPORT', report(`report ${i}`));
    }
    const afterSixty = { answered: JSON.stringify(last.case.record), stored: await stored() };
    t.same(last.case.record.reports, { count: 60, latest_at: last.event.at });
    // Only the count's digits ("1" → "60") and the latest time (the same length) differ.
    t.equal(afterSixty.answered.length - afterOne.answered.length, 1, `the answered record: ${afterOne.answered.length} → ${afterSixty.answered.length} characters`);
    t.equal(afterSixty.stored.bytes - afterOne.stored.bytes, 1, `the stored record: ${afterOne.stored.bytes} → ${afterSixty.stored.bytes} bytes`);
    const withoutReports = (text: string) => ({ ...JSON.parse(text), reports: null });
    t.same(withoutReports(afterSixty.answered), withoutReports(afterOne.answered), 'the answered record is otherwise identical');
    t.same(withoutReports(afterSixty.stored.text), withoutReports(afterOne.stored.text), 'the stored record is otherwise identical');
    t.equal((await s.history(c.id)).filter((e) => e.type === 'SUBMIT_REPORT').length, 60, 'the 60 reports are in the history');

    const v = await verify();
    t.equal(v.ok, true, `the audit verifies: ${JSON.stringify(v.failures)}`);
  });

  t.test('verification replays the history into exactly the stored record: a count off by one fails it', async (t) => {
    // The audit verification (src/audit/verify.ts) replays each case's events through the machine from
    // the workflow's initial record and compares the whole record it reaches with the stored one, so
    // the passing verifications above are the proof that replay rebuilds a bounded record exactly.
    const c = await testingCase();
    for (let i = 0; i < 3; i++) {
      ta.clock.advance(minute);
      await s.must(c.id, A, 'SUBMIT_REPORT', report(`report ${i}`));
    }
    t.equal((await verify()).ok, true, 'verifies as written');
    const original = (await sql<{ text: string }>`select record::text as text from cases where id = ${c.id}`.execute(ta.app.db)).rows[0]!.text;
    for (const [what, change] of [
      ['a report count', sql`jsonb_set(record, '{reports,count}', '2')`],
      ['the latest report time', sql`jsonb_set(record, '{reports,latest_at}', '"2026-01-01T00:00:00.000Z"')`],
      ['a list of reports in place of the tally', sql`jsonb_set(record, '{reports}', '[]')`],
    ] as const) {
      await sql`update cases set record = ${change} where id = ${c.id}`.execute(ta.app.db);
      const v = await verify();
      t.equal(v.ok, false, `${what} changed behind the engine fails verification`);
      t.match(v.failures, [{ case_id: c.id, reason: /record/ }], what);
      await sql`update cases set record = ${original}::jsonb where id = ${c.id}`.execute(ta.app.db);
    }
    t.equal((await verify()).ok, true, 'verifies again once restored');
  });
});
