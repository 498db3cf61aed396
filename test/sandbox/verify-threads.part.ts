import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // On PostgreSQL, verification hands ranges of cases to worker threads that read and verify them on
  // connections of their own; whatever the number of threads, the report must be the one this thread
  // alone gives: the same counts, the same failures in case order.
  const onPostgres = Boolean(process.env.DATABASE_URL || process.env.TEST_DATABASE_URL);

  t.test('verification in worker threads reports exactly what one thread does', { skip: onPostgres ? false : 'threads need PostgreSQL (the embedded database lives in one thread)' }, async (t) => {
    const ta = await buildTestApp(t);
    const databaseUrl = ta.database.url!;
    const s = await sandboxCast(ta);
    const states = ['draft', 'submitted', 'under_review', 'admitted', 'testing', 'suspended', 'exit_review'];
    const cases: Array<{ id: string }> = [];
    for (let i = 0; i < 17; i++) cases.push(await s.caseIn(states[i % states.length]!));
    const ids = [...cases.map((c) => c.id)].sort();

    const inline = await verifyAudit(ta.app.db, { batchSize: 4, threads: 0, databaseUrl });
    t.equal(inline.ok, true);
    t.equal(inline.cases_checked, 17);
    for (const threads of [1, 3]) {
      const stats = { threadBatches: 0 };
      t.same(await verifyAudit(ta.app.db, { batchSize: 4, threads, stats, databaseUrl }), inline, `${threads} thread(s), clean`);
      t.equal(stats.threadBatches, 5, 'every batch went to a thread');
    }

    // Breaks in the first, a middle and the last batch (cases are read in id order), of three kinds.
    const [first, middle, last] = [ids[1]!, ids[9]!, ids[16]!];
    await ta.app.db.transaction().execute(async (trx) => {
      await sql`alter table audit_events disable trigger audit_events_append_only`.execute(trx);
      await sql`update audit_events set payload = '{"tampered": true}'::jsonb where case_id = ${first} and seq = 1`.execute(trx);
      await sql`update audit_events set prev_hash = repeat('f', 64) where case_id = ${last} and seq = 1`.execute(trx);
      await sql`alter table audit_events enable trigger audit_events_append_only`.execute(trx);
    });
    await sql`update cases set state = 'withdrawn' where id = ${middle}`.execute(ta.app.db);

    const broken = await verifyAudit(ta.app.db, { batchSize: 4, threads: 0, databaseUrl });
    t.equal(broken.ok, false);
    t.same(broken.failures.map((f) => f.case_id), [first, middle, last], 'failures in case order');
    t.match(broken.failures[0]!.reason, /hash/);
    t.match(broken.failures[1]!.reason, /state/);
    t.match(broken.failures[2]!.reason, /prev_hash/);
    for (const threads of [1, 3]) {
      t.same(await verifyAudit(ta.app.db, { batchSize: 4, threads, databaseUrl }), broken, `${threads} thread(s), three breaks`);
    }

    // The HTTP route uses the default (threads when the registry is larger than one batch).
    const r = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: s.regulator.token });
    t.same(r.json().failures.map((f: { case_id: string }) => f.case_id), [first, middle, last]);

    // A thread that cannot do its work (here: its database does not exist) fails the verification
    // with the reason, promptly, rather than hanging or answering a partial report as complete.
    const unreachable = new URL(databaseUrl);
    unreachable.pathname = '/no_such_database_for_verify';
    const t0 = Date.now();
    await t.rejects(verifyAudit(ta.app.db, { batchSize: 4, threads: 2, databaseUrl: unreachable.toString() }), /audit verification thread/);
    t.ok(Date.now() - t0 < 20_000, 'and promptly');
  });
});
