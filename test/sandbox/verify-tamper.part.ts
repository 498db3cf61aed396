import type { Kysely } from 'kysely';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp, testDatabaseUrl } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { verifyAudit, type VerifyReport } from '../../src/audit/verify.js';
import { sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // SPEC §4: verify vouches that every case's stored row (state, version, record, lab, deadlines) and
  // its application equal the replay of its events. Each column is changed behind the engine (case
  // rows carry no append-only trigger) on a case of its own, and each must be named by every way of
  // verifying: the route, this thread, and worker threads (PostgreSQL only).
  const onPostgres = Boolean(testDatabaseUrl());

  t.test('verify names each case whose stored row was changed behind the engine', async (t) => {
    const ta = await buildTestApp(t);
    const c = await certificationCast(ta);
    const s = await sandboxCast(ta);
    const R = c.regulator.token;
    const db = ta.app.db as unknown as Kysely<any>;

    const [lab, otherLab] = [await c.lab(['robot-safety']), await c.lab(['robot-safety'])];
    const robot = await c.robot();
    const untouched = [(await s.caseIn('testing')).id, await c.toResultsPosted({ product: robot, scheme: 'robot-safety', lab })];

    const tamperings: Array<{ column: string; caseId: string; change: string; reason: RegExp }> = [
      { column: 'record', caseId: (await s.caseIn('testing')).id, change: `record = jsonb_set(record, '{admission,conditions}', '["none at all"]')`, reason: /record/ },
      { column: 'application', caseId: (await s.caseIn('under_review')).id, change: `application = jsonb_set(application, '{scenarios}', '["forged"]')`, reason: /application/ },
      { column: 'version', caseId: (await s.caseIn('admitted')).id, change: 'version = version + 1', reason: /version/ },
      {
        column: 'deadlines',
        caseId: (await s.caseIn('testing')).id,
        change: `deadlines = jsonb_set(deadlines, '{testing_ends_at}', '"2099-01-01T00:00:00.000Z"')`,
        reason: /deadline/,
      },
      {
        column: 'lab_id',
        caseId: await c.toResultsPosted({ product: robot, scheme: 'robot-safety', lab }),
        change: `lab_id = '${otherLab.org.id}'`,
        reason: /lab/,
      },
    ];

    // Small batches, so that on PostgreSQL the cases are spread over several threads.
    const databaseUrl = ta.database.url ?? null;
    const paths: Array<{ name: string; run: () => Promise<VerifyReport>; skip?: string | false }> = [
      { name: 'GET /v1/audit/verify', run: async () => c.ok(await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R })) },
      { name: 'this thread', run: () => verifyAudit(ta.app.db, { batchSize: 2, threads: 0, databaseUrl }) },
      {
        name: 'worker threads',
        skip: onPostgres ? false : 'threads need PostgreSQL (the embedded database lives in one thread)',
        run: async () => {
          const stats = { threadBatches: 0 };
          const report = await verifyAudit(ta.app.db, { batchSize: 2, threads: 2, databaseUrl, stats });
          if (stats.threadBatches < 3) throw new Error(`only ${stats.threadBatches} batches went to threads`);
          return report;
        },
      },
    ];

    for (const p of paths) {
      await t.test(`${p.name}: sound before tampering`, { skip: p.skip }, async (t) => {
        const v = await p.run();
        t.same(v.failures, []);
        t.equal(v.ok, true);
        t.equal(v.cases_checked, untouched.length + tamperings.length);
      });
    }

    for (const x of tamperings) await sql.raw(`update cases set ${x.change} where id = '${x.caseId}'`).execute(db);

    for (const p of paths) {
      await t.test(`${p.name}: after tampering`, { skip: p.skip }, async (t) => {
        const v = await p.run();
        t.equal(v.ok, false);
        t.equal(v.cases_checked, untouched.length + tamperings.length);
        for (const id of untouched) t.notOk(v.failures.some((f) => f.case_id === id), 'an untouched case is not named');
        for (const x of tamperings) {
          t.test(`a changed ${x.column} is named`, async (t) => {
            const named = v.failures.filter((f) => f.case_id === x.caseId);
            t.equal(named.length, 1, `one failure names the case (${JSON.stringify(named)})`);
            t.match(named[0]?.reason, x.reason);
          });
        }
      });
    }
  });
});
