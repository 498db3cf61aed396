import { TestClock, buildTestApp } from '../helpers/app.js';
import { day, sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t, { clock: new TestClock(Date.parse('2026-06-01T08:00:00Z')) });
  const s = await sandboxCast(ta);
  const A = s.applicant.token;
  const R = s.regulator.token;

  t.test('a report period lies within the testing period and ends by now (SPEC 3.1)', async (t) => {
    const c = await s.create();
    await s.must(c.id, A, 'SUBMIT');
    await s.must(c.id, R, 'START_REVIEW');
    await s.must(c.id, R, 'ADMIT', { conditions: ['monthly reports'], testing_period: { start: s.iso(day), end: s.iso(90 * day) } });
    ta.clock.advance(day);
    await s.must(c.id, A, 'START_TESTING');
    const began = s.iso(0);
    ta.clock.advance(40 * day);

    const refused: Array<[string, unknown, RegExp]> = [
      ['years before testing began', { period_start: '2020-01-01T00:00:00Z', period_end: '2020-02-01T00:00:00Z' }, /within the testing period: period_start is before/],
      ['starting an hour before testing began', { period_start: new Date(Date.parse(began) - 3_600_000).toISOString(), period_end: s.iso(-day) }, /period_start is before/],
      ['ending tomorrow', { period_start: began, period_end: s.iso(day) }, /must end by now/],
      ['ending after the testing period', { period_start: began, period_end: s.iso(60 * day) }, /period_end is after its end/],
      ['ending before it starts', { period_start: s.iso(-day), period_end: s.iso(-2 * day) }, /period_end must be after period_start/],
    ];
    for (const [name, period, detail] of refused) {
      const r = await s.fire(c.id, A, 'SUBMIT_REPORT', { ...(period as object), summary: name });
      t.equal(r.statusCode, 422, `${name}: ${r.body}`);
      t.match(r.json(), { code: 'rule_violation', rule: 'reportPeriodValid' }, name);
      t.match(r.json().detail, detail, name);
    }
    const stored = await s.get(c.id);
    t.equal(stored.version, 5, 'nothing was stored');
    t.same(stored.record.reports, { count: 0, latest_at: null });

    const ok = await s.fire(c.id, A, 'SUBMIT_REPORT', { period_start: began, period_end: s.iso(0), summary: 'first 40 days' });
    t.equal(ok.statusCode, 200, ok.body);
    t.equal((await s.history(c.id)).filter((e) => e.type === 'SUBMIT_REPORT').length, 1);
    const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R });
    t.equal(v.json().ok, true, JSON.stringify(v.json().failures));
  });
});
