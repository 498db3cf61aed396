import { buildTestApp } from '../helpers/app.js';
import { RealClock, DAY, iso, sandbox, waitFor } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // The "Done when", on the wall clock: SCHEDULER_INTERVAL_MS=500, deadlines 1.5 s ahead,
  // each fired within 5 s of being set.
  t.test('with a 500 ms interval, an unanswered request lapses and testing starts on their own', async (t) => {
    const ta = await buildTestApp(t, { env: { SCHEDULER_INTERVAL_MS: '500' }, clock: new RealClock() });
    const s = await sandbox(ta);
    const askedId = await s.underReview();
    const admittedId = await s.underReview();

    const askedAt = Date.now();
    await s.fire(askedId, s.f.regulator.token, 'REQUEST_INFO', { questions: ['Which wards?'], respond_by: iso(askedAt + 1500) });
    const admittedAt = Date.now();
    await s.fire(admittedId, s.f.regulator.token, 'ADMIT', { conditions: ['daily logs'], testing_period: { start: iso(admittedAt + 1500), end: iso(admittedAt + 90 * DAY) } });

    const states = await waitFor(async () => {
      const got = [(await s.get(askedId)).state, (await s.get(admittedId)).state];
      return got[0] === 'lapsed' && got[1] === 'testing' ? got : null;
    }, admittedAt + 5000 - Date.now(), 100);
    t.same(states, ['lapsed', 'testing']);

    for (const [id, type, from, to, setAt] of [
      [askedId, 'INFO_LAPSED', 'info_requested', 'lapsed', askedAt],
      [admittedId, 'START_TESTING', 'admitted', 'testing', admittedAt],
    ] as const) {
      const e = (await s.history(id)).at(-1)!;
      t.match(e, { type, actor: { principal_id: null, role: 'system' }, from_state: from, to_state: to });
      const firedAfter = new Date(e.at).getTime() - setAt;
      t.ok(firedAfter >= 1500 && firedAfter < 5000, `${type} fired ${firedAfter} ms after it was set (due at 1500 ms)`);
    }
  });
});
