import { buildTestApp, TestClock } from '../helpers/app.js';
import { sweepOnce } from '../../src/scheduler/scheduler.js';
import { sandboxCast } from '../sandbox/helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // SPEC §4b: the sandbox register's ended_at is when testing actually ended; a case that left
  // early must not be shown as testing until its planned (here extended) end.
  const ta = await buildTestApp(t, { clock: new TestClock(Date.parse('2026-03-02T02:00:00Z')) });
  const s = await sandboxCast(ta);
  const A = s.applicant.token;
  const R = s.regulator.token;

  /** A case admitted on 2026-03-02 (CST) for a period from 2026-03-03 to `end`. */
  async function admitted(end: string) {
    const c = await s.create();
    await s.must(c.id, A, 'SUBMIT');
    await s.must(c.id, R, 'START_REVIEW');
    await s.must(c.id, R, 'ADMIT', { conditions: ['monthly reports'], testing_period: { start: '2026-03-03T01:00:00Z', end } });
    return c as { id: string; number: string };
  }

  const exited = await admitted('2027-03-03T04:00:00Z');
  // Ended by PERIOD_ENDED, which the scheduler fires two days after the period's end.
  const periodEnded = await admitted('2026-09-01T04:00:00Z');
  // Asks to leave after its period has ended, before the scheduler has fired PERIOD_ENDED.
  const lateExit = await admitted('2026-08-01T04:00:00Z');
  const ongoing = await admitted('2027-03-03T04:00:00Z');
  const suspended = await admitted('2027-03-03T04:00:00Z');

  ta.clock.set('2026-03-03T02:00:00Z');
  for (const c of [exited, periodEnded, lateExit, ongoing, suspended]) await s.must(c.id, A, 'START_TESTING');
  await s.must(exited.id, R, 'EXTEND', { new_end: '2027-09-03T04:00:00Z' });
  await s.must(suspended.id, R, 'SUSPEND', { reason: 'breach of conditions' });
  ta.clock.set('2026-08-05T02:00:00Z');
  await s.must(lateExit.id, A, 'REQUEST_EXIT');
  ta.clock.set('2026-09-03T04:00:00Z');
  const swept = await sweepOnce(ta.app.engine);
  ta.clock.set('2026-12-03T02:00:00Z');
  await s.must(exited.id, A, 'REQUEST_EXIT');
  ta.clock.set('2026-12-20T02:00:00Z');
  await s.must(exited.id, A, 'SUBMIT_EXIT_REPORT', { outcomes: 'triage assisted', lessons: 'more clinicians', compliance_statement: 'all conditions met' });
  await s.must(exited.id, R, 'CONCLUDE', { outcome: 'graduated' });

  const register = async () => {
    const r = await ta.req({ method: 'GET', url: '/v1/register/sandbox?limit=200' });
    t.equal(r.statusCode, 200);
    return new Map((r.json().items as any[]).map((i) => [i.number as string, i]));
  };

  t.test('the JSON register says when testing actually ended, and nothing while it goes on', async (t) => {
    t.match(swept, { fired: 1, failed: 0 }, 'the scheduler fired PERIOD_ENDED');
    const items = await register();
    t.match(items.get(exited.number), { state: 'exited', testing_period: { end: '2027-09-03T04:00:00.000Z' }, ended_at: '2026-12-03T02:00:00.000Z' }, 'an exit request ends testing');
    t.match(items.get(periodEnded.number), { state: 'exit_review', ended_at: '2026-09-01T04:00:00.000Z' }, 'the period’s end ends it, not when the scheduler got to it');
    t.match(items.get(lateExit.number), { state: 'exit_review', ended_at: '2026-08-01T04:00:00.000Z' }, 'an exit asked for after the period’s end came after testing had ended');
    for (const c of [ongoing, suspended]) {
      const item = items.get(c.number);
      t.ok(item, `${c.number} is listed`);
      t.notOk('ended_at' in item, `${item.state}: no ended_at while testing goes on`);
    }
    t.same(Object.keys(items.get(exited.number)), ['number', 'organization', 'product', 'state', 'testing_period', 'ended_at']);
    t.same((await ta.req({ method: 'GET', url: '/v1/register/sandbox?state=exited' })).json().items.map((i: any) => i.ended_at), ['2026-12-03T02:00:00.000Z']);
  });

  t.test('the pages show the actual end of an ended case, the planned end of an ongoing one', async (t) => {
    const period = (body: string) => [...body.matchAll(/<time datetime="[^"]+">([\d-]+)<\/time> – <time datetime="([^"]+)">([\d-]+)<\/time>/g)].map((m) => `${m[1]} – ${m[3]}`);
    for (const lang of ['en', 'zh-Hans']) {
      const page = await ta.req({ method: 'GET', url: `/register/sandbox/${exited.number}?lang=${lang}` });
      t.equal(page.statusCode, 200);
      t.same(period(page.body), ['2026-03-03 – 2026-12-03'], `${lang}: the participant page`);
      t.notMatch(page.body, '2027-09-03', `${lang}: not the planned end`);
    }
    t.same(period((await ta.req({ method: 'GET', url: `/register/sandbox/${ongoing.number}?lang=en` })).body), ['2026-03-03 – 2027-03-03']);
    t.same(period((await ta.req({ method: 'GET', url: `/register/sandbox/${periodEnded.number}?lang=en` })).body), ['2026-03-03 – 2026-09-01']);

    const list = (await ta.req({ method: 'GET', url: '/register?kind=sandbox&state=exited&lang=en' })).body;
    const row = new RegExp(`${exited.number}</a></th>[\\s\\S]*?</tr>`).exec(list)?.[0] ?? '';
    t.same(period(row), ['2026-03-03 – 2026-12-03'], 'the register list');
    t.notMatch(row, '2027-09-03');
  });
});
