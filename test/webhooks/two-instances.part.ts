import { buildTestApp, openSameDatabase, testDatabaseUrl } from '../helpers/app.js';
import { Dispatcher } from '../../src/webhooks/dispatcher.js';
import { receiver, webhookApp } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('two instances dispatching the same outbox: every delivery once, none twice', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL: the embedded database is one process' }, async (t) => {
    const one = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    const second = await openSameDatabase(one.database);
    t.teardown(() => second.close());
    const two = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' }, database: second, clock: one.clock });
    const w = await webhookApp(t, { ta: one });
    const r = await receiver(t);
    r.state.delayMs = 5;
    const hook = await w.hook(w.regulator.token, { url: r.url, events: ['*'] });
    r.state.secret = () => hook.secret;
    const cases = await Promise.all(Array.from({ length: 12 }, () => w.sandboxCase()));
    await Promise.all(cases.map((c) => w.fire(w.applicant.token, c.id, 'SUBMIT')));
    const expected = cases.length * 2;

    // Both instances claim at the same time, round after round, in small batches, until nothing is left.
    const small = (ta: typeof one) => new Dispatcher({ db: ta.app.db, now: ta.clock.now, box: ta.app.webhooks.box, allowPrivate: true }, { intervalMs: 0, batchSize: 4 });
    const [d1, d2] = [small(one), small(two)];
    for (let i = 0; i < 50; i++) {
      const [a, b] = await Promise.all([d1.dispatchOnce(), d2.dispatchOnce()]);
      if (a.claimed + b.claimed === 0) break;
    }
    const ids = r.got.map((g) => g.id);
    t.equal(ids.length, expected, `${expected} requests`);
    t.equal(new Set(ids).size, expected, 'no delivery sent twice');
    t.same(r.invalid, []);
    const rows = await one.app.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).where('endpoint_id', '=', hook.id).execute();
    t.ok(rows.every((d) => d.status === 'delivered' && d.attempts === 1));
  });

  t.test('two instances running their pipelined rounds (the next batch claimed while one is sent, its outcomes recorded while the next is sent): every delivery once, and a stop lets go of what it claimed ahead', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL: the embedded database is one process' }, async (t) => {
    const one = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    const second = await openSameDatabase(one.database);
    t.teardown(() => second.close());
    const two = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' }, database: second, clock: one.clock });
    const w = await webhookApp(t, { ta: one });
    const r = await receiver(t);
    r.state.delayMs = 2;
    const hook = await w.hook(w.regulator.token, { url: r.url, events: ['*'] });
    r.state.secret = () => hook.secret;
    const rowsOf = () => one.app.db.selectFrom('webhook_deliveries').select(['id', 'status', 'attempts', 'locked_until']).where('endpoint_id', '=', hook.id).execute();
    const running = (ta: typeof one) => new Dispatcher({ db: ta.app.db, now: ta.clock.now, box: ta.app.webhooks.box, allowPrivate: true }, { intervalMs: 5, batchSize: 4 });
    const until = async (done: () => Promise<boolean>) => {
      for (let i = 0; i < 2000 && !(await done()); i++) await new Promise((res) => setTimeout(res, 10));
    };

    // Stopped after its first deliveries: the batch it claimed ahead is released, the ones it sent recorded.
    const cases = await Promise.all(Array.from({ length: 20 }, () => w.sandboxCase()));
    await Promise.all(cases.map((c) => w.fire(w.applicant.token, c.id, 'SUBMIT')));
    const expected = cases.length * 2;
    const early = running(one);
    early.start();
    await until(async () => r.got.length >= 6);
    await early.stop();
    const afterStop = await rowsOf();
    t.equal(afterStop.length, expected);
    t.same(afterStop.filter((d) => d.locked_until !== null), [], 'nothing left leased after the stop: sent ones recorded, the batch claimed ahead released');
    t.equal(afterStop.filter((d) => d.status === 'delivered').length, r.got.length, 'every delivery sent before the stop is recorded as delivered');
    t.ok(afterStop.some((d) => d.status === 'pending'), 'and the rest wait');

    // Then two instances at once, round after round, until nothing is left.
    const [d1, d2] = [running(one), running(two)];
    d1.start();
    d2.start();
    await until(async () => (await rowsOf()).every((d) => d.status === 'delivered'));
    await Promise.all([d1.stop(), d2.stop()]);
    const ids = r.got.map((g) => g.id);
    t.equal(ids.length, expected, `${expected} requests`);
    t.equal(new Set(ids).size, expected, 'no delivery sent twice');
    t.same(r.invalid, []);
    const rows = await rowsOf();
    t.ok(rows.every((d) => d.status === 'delivered' && d.attempts === 1 && d.locked_until === null), 'each delivered once, recorded, let go');
    t.ok(d1.status().rounds > 1 && d2.status().rounds > 0, 'both instances took part');
  });
});
