import { buildTestApp } from '../helpers/app.js';
import { DAY, receiver, webhookApp } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // One app for the file; each test makes its own cast and starts from where the clock is.
  const shared = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });

  t.test('reminders go 3 days and 1 day before a deadline the organization must meet, once each; a moved deadline gets its own', async (t) => {
    const w = await webhookApp(t, { ta: shared });
    const { ta, applicant, otherApplicant, regulator } = w;
    const r = await receiver(t);
    const hook = await w.hook(applicant.token, { url: r.url, events: ['reminder.*'] });
    r.state.secret = () => hook.secret;
    const stranger = await receiver(t);
    const strangerHook = await w.hook(otherApplicant.token, { url: stranger.url, events: ['*'] });
    stranger.state.secret = () => strangerHook.secret;

    const c = await w.sandboxCase();
    await w.fire(applicant.token, c.id, 'SUBMIT');
    await w.fire(regulator.token, c.id, 'START_REVIEW');
    const start = ta.clock.now().getTime();
    const respondBy = new Date(start + 5 * DAY).toISOString();
    await w.fire(regulator.token, c.id, 'REQUEST_INFO', { questions: ['Which hospitals?'], respond_by: respondBy });

    const at = async (ms: number) => {
      ta.clock.set(new Date(ms));
      await w.dispatch();
      await w.dispatch();
    };
    await at(start + 60_000);
    t.equal(r.got.length, 0, 'nothing 5 days ahead');
    await at(start + 2 * DAY + 60_000);
    t.same(r.got.map((g) => g.json), [{ type: 'reminder.respond_by', timestamp: ta.clock.now().toISOString(), data: { case_id: c.id, number: c.number, kind: 'sandbox-cases', deadline: 'respond_by', due_at: respondBy } }]);
    await at(start + 3 * DAY);
    t.equal(r.got.length, 1, 'the 3-day reminder went once');
    await at(start + 4 * DAY + 60_000);
    t.equal(r.got.length, 2, 'then the 1-day one');
    await at(start + 4 * DAY + 3_600_000);
    t.equal(r.got.length, 2, 'once');
    t.same(r.got.map((g) => g.json.type), ['reminder.respond_by', 'reminder.respond_by']);

    // Answered, then asked again with a new deadline: its own reminders.
    await w.fire(applicant.token, c.id, 'PROVIDE_INFO', { answers: ['Two in Shenzhen'] });
    const moved = new Date(start + 10 * DAY).toISOString();
    await w.fire(regulator.token, c.id, 'REQUEST_INFO', { questions: ['And the data?'], respond_by: moved });
    await at(start + 7 * DAY + 60_000);
    await at(start + 9 * DAY + 60_000);
    t.same(r.got.slice(2).map((g) => g.json.data.due_at), [moved, moved]);
    t.same(r.invalid, []);
    t.equal(stranger.got.length, 0, 'another organization hears nothing of this case');
    const sent = await ta.app.db.selectFrom('webhook_reminders').select(['deadline', 'offset_days']).where('case_id', '=', c.id).orderBy('due_at').orderBy('offset_days', 'desc').execute();
    t.same(sent, [{ deadline: 'respond_by', offset_days: 3 }, { deadline: 'respond_by', offset_days: 1 }, { deadline: 'respond_by', offset_days: 3 }, { deadline: 'respond_by', offset_days: 1 }]);
  });

  t.test('the end of testing is reminded of, its start is not (the organization need not meet it)', async (t) => {
    const w = await webhookApp(t, { ta: shared });
    const { ta, applicant, regulator } = w;
    const r = await receiver(t);
    const hook = await w.hook(applicant.token, { url: r.url, events: ['reminder.testing_ends_at'] });
    r.state.secret = () => hook.secret;
    const all = await receiver(t);
    const allHook = await w.hook(applicant.token, { url: all.url, events: ['reminder.*'] });
    all.state.secret = () => allHook.secret;
    const start = ta.clock.now().getTime();
    const c = await w.sandboxCase();
    await w.fire(applicant.token, c.id, 'SUBMIT');
    await w.fire(regulator.token, c.id, 'START_REVIEW');
    const begins = new Date(start + 2 * DAY).toISOString();
    const ends = new Date(start + 60 * DAY).toISOString();
    await w.fire(regulator.token, c.id, 'ADMIT', { conditions: ['weekly reports'], testing_period: { start: begins, end: ends } });
    ta.clock.set(new Date(start + 1 * DAY + 60_000));
    await w.dispatch();
    t.equal(all.got.length, 0, 'no reminder of testing_starts_at');
    await w.fire(applicant.token, c.id, 'START_TESTING');
    ta.clock.set(new Date(start + 57 * DAY + 60_000));
    await w.dispatch();
    t.match(r.got.map((g) => g.json), [{ type: 'reminder.testing_ends_at', data: { case_id: c.id, deadline: 'testing_ends_at', due_at: ends } }]);
    t.same(all.got.map((g) => g.json.type), ['reminder.testing_ends_at']);
    t.same([...r.invalid, ...all.invalid], []);
  });
});
