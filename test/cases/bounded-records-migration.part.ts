// migrations/2026-12-04T11-bounded-records.ts: stored records become what a replay of their history
// through the machines gives (the bounded shape), the audit chain untouched; a case whose history
// does not verify stops the migration and nothing is changed.
import { sql } from '../../src/db/kysely.js';
import { up, down } from '../../migrations/2026-12-04T11-bounded-records.js';
import { buildTestApp, fixtures, type TestApp } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const DAY = 86_400_000;

  async function testingCase(ta: TestApp, f: Awaited<ReturnType<typeof fixtures>>, incidents: number) {
    const product = await f.product(f.applicant.token);
    const created = await ta.req({
      method: 'POST',
      url: '/v1/sandbox-cases',
      token: f.applicant.token,
      payload: {
        product_id: product.id,
        scenarios: ['warehouse picking'],
        test_scope: { regions: ['Foshan'], max_users: 20, duration_months: 6 },
        risks: [{ description: 'collision', level: 'medium' }],
        safeguards: ['speed limits'],
        contact: { name: 'Wang Fang', email: 'wang@example.cn' },
      },
    });
    if (created.statusCode !== 201) throw new Error(created.body);
    const id = created.json().id as string;
    const fire = async (token: string, type: string, payload?: unknown) => {
      const r = await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } });
      if (r.statusCode !== 200) throw new Error(`${type}: ${r.body}`);
    };
    const at = (days: number) => new Date(ta.clock.now().getTime() + days * DAY).toISOString();
    await fire(f.applicant.token, 'SUBMIT');
    await fire(f.regulator.token, 'START_REVIEW');
    await fire(f.regulator.token, 'ADMIT', { conditions: ['daily logs'], testing_period: { start: at(1), end: at(100) } });
    await fire(f.applicant.token, 'START_TESTING');
    for (let i = 1; i <= incidents; i++) await fire(f.applicant.token, 'REPORT_INCIDENT', { severity: 'minor', occurred_at: at(0), description: `bump ${i}` });
    return id;
  }

  /** What the database holds of a case and its chain: the migration may change only `record`. */
  async function stored(ta: TestApp, id: string) {
    const c = await ta.database.db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const chain = await ta.database.db.selectFrom('audit_events').select(['seq', 'type', 'hash', 'prev_hash', 'payload']).where('chain_id', '=', id).orderBy('seq').execute();
    return { record: c.record, rest: { ...c, record: undefined }, chain };
  }

  /** A record as the old machines wrote it: every incident kept as an item of a list. */
  async function makeOld(ta: TestApp, id: string) {
    const incidents = await sql<{ seq: number; payload: Record<string, unknown> }>`select seq, payload from audit_events where chain_id = ${id} and type = 'REPORT_INCIDENT' order by seq`.execute(ta.database.db);
    const old = {
      info_requests: [],
      extensions: [],
      reports: [],
      incidents: incidents.rows.map((r) => ({ seq: r.seq, ...r.payload, reported_by: 'applicant' })),
      suspensions: [],
      exit_reports: [],
      admission: { conditions: ['daily logs'] },
    };
    await sql`update cases set record = ${JSON.stringify(old)}::jsonb where id = ${id}`.execute(ta.database.db);
    return old;
  }

  const verify = async (ta: TestApp, token: string) => (await ta.req({ method: 'GET', url: '/v1/audit/verify', token })).json();

  t.test('each stored record becomes its replay; nothing else of the case or its chain changes', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const a = await testingCase(ta, f, 5);
    const b = await testingCase(ta, f, 0);
    const before = { a: await stored(ta, a), b: await stored(ta, b) };
    t.equal((await verify(ta, f.regulator.token)).ok, true, 'the cases verify as made');

    const old = await makeOld(ta, a);
    const tampered = await verify(ta, f.regulator.token);
    t.equal(tampered.ok, false, 'a record that is not its replay fails verification');
    t.same(tampered.failures.map((x: { case_id: string }) => x.case_id), [a]);

    await ta.database.db.transaction().execute((trx) => up(trx));
    const after = { a: await stored(ta, a), b: await stored(ta, b) };
    t.same(after.a.record, before.a.record, 'the record is the replayed one again');
    t.notSame(after.a.record, old, 'the old lists are gone');
    t.same(after.a.rest, before.a.rest, 'state, version, application, audit head and times unchanged');
    t.same(after.a.chain, before.a.chain, 'the audit chain is not touched');
    t.same(after.b, before.b, 'a case already in shape is left as it is');
    t.equal((await verify(ta, f.regulator.token)).ok, true, 'everything verifies after the migration');

    await ta.database.db.transaction().execute((trx) => up(trx));
    t.same(await stored(ta, a), after.a, 'running it again changes nothing');
    await t.rejects(down(), /cannot be migrated back down/, 'there is no way back down');
  });

  t.test('a case whose history does not verify stops the migration, and nothing is changed', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    // Cases are migrated in id order: the broken one comes second, so the first has been rewritten
    // when the migration stops, and must be as it was after.
    const [a, b] = [await testingCase(ta, f, 2), await testingCase(ta, f, 2)].sort() as [string, string];
    const old = await makeOld(ta, a);
    await makeOld(ta, b);
    await ta.database.db.transaction().execute(async (trx) => {
      await sql`alter table audit_events disable trigger audit_events_append_only`.execute(trx);
      await sql`update audit_events set payload = jsonb_set(payload, '{description}', '"nothing happened"') where chain_id = ${b} and type = 'REPORT_INCIDENT' and seq = 6`.execute(trx);
      await sql`alter table audit_events enable trigger audit_events_append_only`.execute(trx);
    });
    const beforeA = await stored(ta, a);
    const error = await ta.database.db
      .transaction()
      .execute((trx) => up(trx))
      .then(
        () => null,
        (e: Error) => e,
      );
    t.ok(error, 'the migration fails');
    t.match(error?.message, new RegExp(`case ${b} .*hash does not match the event content at seq 6; no record was migrated`), 'naming the case, the event and why');
    t.same(await stored(ta, a), beforeA, 'the other case keeps its stored record (the migration is one transaction)');
    t.same((await stored(ta, a)).record, old);
  });
});
