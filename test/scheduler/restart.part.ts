import { sql } from '../../src/db/kysely.js';
import { TestClock, buildTestApp, fixtures } from '../helpers/app.js';
import { DAY, iso, sandbox, storage, waitFor } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('a deadline that fell due while the service was stopped fires once it starts again', async (t) => {
    const db = await storage(t);
    const clock = new TestClock();
    const t0 = clock.ms;

    // Closed by the test itself (the "stop"), not at teardown.
    const first = await buildTestApp({ teardown() {} }, { database: db.first, clock });
    const s1 = await sandbox(first);
    const lapsing = await s1.infoRequested(iso(t0 + 7 * DAY));
    const starting = await s1.admitted(iso(t0 + 3 * DAY), iso(t0 + 90 * DAY));
    await first.app.close();
    await db.closeFirst();

    clock.advance(10 * DAY);
    const second = await buildTestApp(t, { database: await db.reopen(), clock, env: { SCHEDULER_INTERVAL_MS: '60000' } });
    const s2 = await sandbox(second, s1.f);
    // The first sweep runs at start; the interval is a minute, so no other sweep could have fired them.
    const status = await waitFor(async () => {
      const r = (await second.req({ method: 'GET', url: '/health/ready' })).json();
      return r.scheduler.sweeps > 0 ? r.scheduler : null;
    }, 10_000);
    t.match(status, {
      enabled: true,
      interval_ms: 60_000,
      sweeps: 1,
      last_sweep_at: iso(t0 + 10 * DAY),
      last_sweep: { fired: 2, skipped: 0, failed: 0 },
      failing_deadlines: 0,
      last_error: null,
    });
    t.same([(await s2.get(lapsing)).state, (await s2.get(starting)).state], ['lapsed', 'testing']);
    for (const [id, type] of [
      [lapsing, 'INFO_LAPSED'],
      [starting, 'START_TESTING'],
    ]) {
      t.match((await s2.history(id)).at(-1), { type, actor: { principal_id: null, role: 'system' }, at: iso(t0 + 10 * DAY) });
    }
    t.equal((await s2.verify()).ok, true);
  });

  t.test('/health/ready reports failing deadlines while they are retried', async (t) => {
    const ta = await buildTestApp(t, { env: { SCHEDULER_INTERVAL_MS: '50' } });
    const idle = await ta.req({ method: 'GET', url: '/health/ready' });
    t.match(idle.json().scheduler, { enabled: true, interval_ms: 50, failing_deadlines: 0 });

    const s = await sandbox(ta, await fixtures(ta));
    const t0 = ta.clock.ms;
    const ok = await s.admitted(iso(t0 + DAY), iso(t0 + 30 * DAY));
    const broken = await s.admitted(iso(t0 + DAY), iso(t0 + 30 * DAY));
    await sql
      .raw(
        `create function refuse_case() returns trigger language plpgsql as $$
       begin
         if new.id = '${broken}' then raise exception 'simulated storage failure'; end if;
         return new;
       end $$`,
      )
      .execute(ta.database.db);
    await sql`create trigger refuse_case before update on cases for each row execute function refuse_case()`.execute(ta.database.db);
    ta.clock.advance(DAY);

    const status = await waitFor(async () => {
      const r = (await ta.req({ method: 'GET', url: '/health/ready' })).json();
      return r.scheduler.failing_deadlines === 1 ? r.scheduler : null;
    }, 10_000);
    t.match(status, { failing_deadlines: 1, last_error: null }, 'one failing deadline is not a failed sweep');
    t.equal((await s.get(ok)).state, 'testing');
    t.equal((await s.get(broken)).state, 'admitted');
    const row = await ta.database.db.selectFrom('deadlines').selectAll().where('case_id', '=', broken).executeTakeFirstOrThrow();
    t.match(row, { attempts: 1, last_error: /simulated storage failure/ });
    t.equal((await ta.req({ method: 'GET', url: '/health/ready' })).statusCode, 200, 'the service stays ready');
  });
});
