// Two instances on one PostgreSQL database, each running its sequencer every 10 ms and signing
// checkpoints, while cases are created and moved through both: one sequence of leaves, no gap, no
// duplicate, each audit event exactly once, and the audit (log included) verifies.
import { sql } from '../../src/db/kysely.js';
import { TestClock, buildTestApp, openSameDatabase, openTestDatabase, testDatabaseUrl, type TestApp } from '../helpers/app.js';
import { sandboxApplication, sandboxCast } from '../sandbox/helpers.js';
import { integrate } from '../../src/transparency/log.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  if (!testDatabaseUrl()) {
    t.plan(0, 'skipped: two instances need PostgreSQL (the embedded database is one connection of one process); set DATABASE_URL to run it');
  } else {
    t.test('two instances sequence one log', async (t) => {
      const database = await openTestDatabase({ poolSize: 10 });
      t.teardown(() => database.close());
      const clock = new TestClock();
      const env = { SEQUENCER_INTERVAL_MS: '10', CHECKPOINT_INTERVAL_MS: '0' };
      const a = await buildTestApp(t, { database, clock, env });
      const second = await openSameDatabase(database, { poolSize: 10 });
      t.teardown(() => second.close());
      const b = await buildTestApp(t, { database: second, clock, env });

      const s = await sandboxCast(a);
      const via = (i: number): TestApp => (i % 2 === 0 ? a : b);
      const must = async (r: Awaited<ReturnType<TestApp['req']>>, status: number) => {
        if (r.statusCode !== status) throw new Error(`${r.statusCode}: ${r.body}`);
        return r.json();
      };
      // Each case created on one instance and moved on both, all at once.
      const cases = await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const c = await must(await via(i).req({ method: 'POST', url: '/v1/sandbox-cases', token: s.applicant.token, payload: sandboxApplication(s.product.id) }), 201);
          await must(await via(i + 1).req({ method: 'POST', url: `/v1/sandbox-cases/${c.id}/events`, token: s.applicant.token, payload: { type: 'SUBMIT' } }), 200);
          await must(await via(i).req({ method: 'POST', url: `/v1/sandbox-cases/${c.id}/events`, token: s.regulator.token, payload: { type: 'START_REVIEW' } }), 200);
          return c;
        }),
      );
      t.equal(cases.length, 24);
      // Meanwhile both sequencers ran; the two also race head to head here.
      const races = await Promise.all(Array.from({ length: 20 }, (_, i) => integrate((i % 2 === 0 ? a : b).app.db, 7)));
      t.ok(races.some((r) => 'busy' in r || r.integrated >= 0), 'concurrent rounds either integrate or step aside');
      for (let i = 0; i < 200; i++) {
        const { rows } = await sql<{ n: string }>`select count(*) as n from log_queue`.execute(a.app.db);
        if (rows[0]!.n === '0') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const counts = (
        await sql<{ events: string; leaves: string; distinct_events: string; min: string; max: string; queued: string }>`
        select (select count(*) from audit_events) as events, count(*) as leaves, count(distinct audit_id) as distinct_events,
               min(log_index) as min, max(log_index) as max, (select count(*) from log_queue) as queued
        from log_leaves`.execute(a.app.db)
      ).rows[0]!;
      t.equal(counts.queued, '0', 'the queue drained');
      t.equal(counts.leaves, counts.events, `every audit event has a leaf (${counts.events})`);
      t.equal(counts.distinct_events, counts.events, 'and only one');
      t.same([counts.min, counts.max], ['0', String(Number(counts.leaves) - 1)], 'log indexes 0..n-1: no gap');
      const unlogged = (await sql<{ n: string }>`select count(*) as n from audit_events e where not exists (select 1 from log_leaves l where l.audit_id = e.id)`.execute(a.app.db)).rows[0]!;
      t.equal(unlogged.n, '0');

      await a.app.transparency.sequencer.stop();
      await b.app.transparency.sequencer.stop();
      const checkpoints = (await sql<{ n: string }>`select count(*) as n from log_checkpoints`.execute(a.app.db)).rows[0]!;
      t.ok(Number(checkpoints.n) >= 2, `${checkpoints.n} checkpoints signed between the two`);
      for (const inst of [a, b]) {
        const v = (await inst.req({ method: 'GET', url: '/v1/audit/verify', token: s.regulator.token })).json();
        t.same([v.ok, v.failures], [true, []], 'the audit and the log verify');
      }
    });
  }
});
