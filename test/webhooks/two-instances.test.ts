import t from 'tap';
import { buildTestApp, openSameDatabase, testDatabaseUrl } from '../helpers/app.js';
import { Dispatcher } from '../../src/webhooks/dispatcher.js';
import { receiver, webhookApp } from './support.js';

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
