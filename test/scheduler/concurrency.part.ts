import { sql } from '../../src/db/kysely.js';
import { buildTestApp, openSameDatabase, openTestDatabase, testDatabaseUrl } from '../helpers/app.js';
import { createCase } from '../../src/cases/create.js';
import { fireEvent } from '../../src/cases/fire.js';
import type { Caller } from '../../src/engine/caller.js';
import { sweepOnce, type SweepResult } from '../../src/scheduler/scheduler.js';
import { sandboxWorkflow } from '../../workflows/sandbox.js';
import { DAY, SANDBOX_APPLICATION, iso, sandbox, waitFor } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const N = 500;

  if (!testDatabaseUrl()) {
    t.plan(0, 'skipped: two instances need PostgreSQL (the embedded database is a single connection); set DATABASE_URL to run it');
  } else {
    t.test(`two instances on one PostgreSQL database fire each of ${N} due deadlines exactly once`, async (t) => {
      const database = await openTestDatabase({ poolSize: 12 });
      t.teardown(() => database.close());
      const a = await buildTestApp(t, { database });
      const b = await buildTestApp(t, { database: await openSameDatabase(database, { poolSize: 6 }), clock: a.clock });
      t.teardown(() => b.database.close());

      const s = await sandbox(a);
      const product = await s.f.product(s.f.applicant.token);
      const applicant: Caller = { principal_id: s.f.applicant.id, role: 'applicant', organization_id: s.f.applicantOrg.id };
      const regulator: Caller = { principal_id: s.f.regulator.id, role: 'regulator', organization_id: null };
      const t0 = a.clock.ms;
      const start = iso(t0 + DAY);
      const end = iso(t0 + 30 * DAY);
      const admitOne = async () => {
        const c = await createCase(a.app.engine, sandboxWorkflow, applicant, SANDBOX_APPLICATION(product.id));
        await fireEvent(a.app.engine, sandboxWorkflow, applicant, c.id, { type: 'SUBMIT' });
        await fireEvent(a.app.engine, sandboxWorkflow, regulator, c.id, { type: 'START_REVIEW' });
        await fireEvent(a.app.engine, sandboxWorkflow, regulator, c.id, { type: 'ADMIT', payload: { conditions: ['weekly reports'], testing_period: { start, end } } });
      };
      for (let i = 0; i < N; i += 10) await Promise.all(Array.from({ length: Math.min(10, N - i) }, admitOne));

      const db = database.db;
      const countByType = async (type: string) => {
        const rows = await db
          .selectFrom('audit_events')
          .select(['case_id', (eb) => eb.fn.countAll<string>().as('n')])
          .where('type', '=', type)
          .groupBy('case_id')
          .execute();
        return { cases: rows.length, events: rows.reduce((sum, r) => sum + Number(r.n), 0), twice: rows.filter((r) => Number(r.n) > 1).length };
      };
      const states = async () =>
        Object.fromEntries((await db.selectFrom('cases').select(['state', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('state').execute()).map((r) => [r.state, Number(r.n)]));

      await t.test('sweeping by hand, two sweeps at once on each instance', async (t) => {
        a.clock.set(start);
        const sweeper = async (engine: typeof a.app.engine) => {
          const own: SweepResult[] = [];
          for (;;) {
            const r = await sweepOnce(engine, { batchSize: 25 });
            own.push(r);
            if (r.fired + r.skipped + r.failed === 0 && !r.more) return own;
          }
        };
        const began = Date.now();
        const [a1, a2, b1, b2] = await Promise.all([sweeper(a.app.engine), sweeper(a.app.engine), sweeper(b.app.engine), sweeper(b.app.engine)]);
        const ms = Date.now() - began;
        const fired = (rs: SweepResult[]) => rs.reduce((n, r) => n + r.fired, 0);
        const byA = fired(a1!) + fired(a2!);
        const byB = fired(b1!) + fired(b2!);
        t.comment(`${N} deadlines fired in ${ms} ms by two instances (instance A ${byA}, instance B ${byB})`);
        t.equal(byA + byB, N, 'the sweeps together fired each deadline once');
        t.ok(byA > 0 && byB > 0, 'both instances took part');
        t.equal([...a1!, ...a2!, ...b1!, ...b2!].reduce((n, r) => n + r.failed + r.skipped, 0), 0, 'none failed or was skipped');
        t.same(await countByType('START_TESTING'), { cases: N, events: N, twice: 0 }, 'one START_TESTING audit event per case');
        t.same(await states(), { testing: N });
      });

      await t.test('with the schedulers of two running instances (100 ms interval)', async (t) => {
        const c = await buildTestApp(t, { database: await openSameDatabase(database, { poolSize: 4 }), clock: a.clock, env: { SCHEDULER_INTERVAL_MS: '100' } });
        const d = await buildTestApp(t, { database: await openSameDatabase(database, { poolSize: 4 }), clock: a.clock, env: { SCHEDULER_INTERVAL_MS: '100' } });
        t.teardown(() => c.database.close());
        t.teardown(() => d.database.close());
        const sweeps = async () => [c, d].map((x) => x.app.readiness() as { scheduler: { sweeps: number } }).map((r) => r.scheduler.sweeps);

        const began = Date.now();
        a.clock.set(end);
        const done = await waitFor(async () => (await countByType('PERIOD_ENDED')).events === N, 60_000, 100);
        const ms = Date.now() - began;
        t.ok(done, `all ${N} PERIOD_ENDED fired (${ms} ms)`);
        // Let each instance finish at least two more sweeps, so a duplicate would have had its chance.
        const seen = await sweeps();
        await waitFor(async () => (await sweeps()).every((n, i) => n >= seen[i]! + 2), 10_000, 50);
        t.same(await countByType('PERIOD_ENDED'), { cases: N, events: N, twice: 0 }, 'one PERIOD_ENDED audit event per case');
        t.same(await states(), { exit_review: N });
        t.equal(Number((await sql<{ n: string }>`select count(*) as n from deadlines`.execute(db)).rows[0]!.n), 0, 'no deadline left');
        t.equal((await s.verify()).ok, true, 'every audit chain verifies');
      });
    });
  }
});
