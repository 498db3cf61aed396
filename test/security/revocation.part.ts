import pg from 'pg';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp, openSameDatabase, openTestDatabase, testDatabaseUrl, type TestApp } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // Two instances of the service on one PostgreSQL database share nothing but the database: a token
  // revoked through one must be refused by both for every request sent once the DELETE's 204 is back.
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  if (!testDatabaseUrl()) {
    t.plan(0, 'skipped: two instances need PostgreSQL (the embedded database is one connection of one process, with one principal cache); set DATABASE_URL to run it');
  } else {
    const database = await openTestDatabase({ poolSize: 10 });
    t.teardown(() => database.close());
    const a = await buildTestApp(t, { database });
    const second = await openSameDatabase(database, { poolSize: 10 });
    t.teardown(() => second.close());
    // Instance B's handle counts the statements that read principals, to tell a cached answer from a read.
    let principalReads = 0;
    const counted = second.db.withPlugin({
      transformQuery: (args) => {
        const node = args.node as { kind: string; from?: { froms: Array<{ table?: { identifier?: { name: string } } }> } };
        if (node.kind === 'SelectQueryNode' && node.from?.froms.some((f) => f.table?.identifier?.name === 'principals')) principalReads++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const b = await buildTestApp(t, { database: { ...second, db: counted } });
    const newPrincipal = async () => {
      const r = await a.req({ method: 'POST', url: '/v1/principals', token: a.adminToken, payload: { role: 'regulator' } });
      if (r.statusCode !== 201) throw new Error(`${r.statusCode} ${r.body}`);
      return r.json() as { id: string; token: string };
    };
    const me = (inst: TestApp, token: string) => inst.req({ method: 'GET', url: '/v1/me', token });
    /** Revokes without telling anyone: the change a lost notification would have carried. */
    const revokeSilently = (id: string) =>
      database.db.transaction().execute(async (trx) => {
        await sql`set local session_replication_role = replica`.execute(trx);
        await sql`update principals set revoked_at = now() where id = ${id}`.execute(trx);
      });

    t.test('a token revoked through instance A is refused by A and B for every request sent after the 204', async (t) => {
      for (let round = 1; round <= 3; round++) {
        const victim = await newPrincipal();
        const sent: Array<{ on: 'A' | 'B'; at: number; status: number }> = [];
        let stop = false;
        const hammer = async (on: 'A' | 'B', inst: TestApp) => {
          while (!stop) {
            const at = performance.now();
            const r = await me(inst, victim.token);
            sent.push({ on, at, status: r.statusCode });
            // inject answers without waiting on I/O: yield, or the DELETE's queries would wait for the loop to stop
            await new Promise((r) => setImmediate(r));
          }
        };
        const loops = [...['B', 'B', 'B', 'B', 'A', 'A'].map((on) => hammer(on as 'A' | 'B', on === 'A' ? a : b))];
        while (sent.filter((s) => s.on === 'B' && s.status === 200).length < 50) await sleep(5);
        const asked = performance.now();
        const deleted = await a.req({ method: 'DELETE', url: `/v1/principals/${victim.id}`, token: a.adminToken });
        const answered = performance.now();
        t.equal(deleted.statusCode, 204, `round ${round}: revoked through A`);
        await sleep(300);
        stop = true;
        await Promise.all(loops);
        const after = sent.filter((s) => s.at > answered);
        t.ok(after.filter((s) => s.on === 'B').length >= 20, `round ${round}: B was asked ${after.filter((s) => s.on === 'B').length} times after the 204`);
        const accepted = after.filter((s) => s.status !== 401);
        t.same(
          accepted.map((s) => `${s.on} ${s.status} sent ${(s.at - answered).toFixed(1)} ms after the 204`).slice(0, 5),
          [],
          `round ${round}: none of the ${after.length} requests sent after the 204 was accepted (${accepted.length} were)`,
        );
        t.comment(`round ${round}: the DELETE took ${(answered - asked).toFixed(1)} ms; ${sent.filter((s) => s.at < asked && s.status === 200).length} requests accepted before it`);
      }
    });

    t.test('a revocation waits for a live instance that has not confirmed it, until that instance’s lease runs out', async (t) => {
      const lease = 1500;
      // An instance that registered and then stopped answering (hung, or cut off from the database).
      await sql`insert into principal_cache_instances (id, lease_until, acked)
      values (gen_random_uuid(), now() + ${lease} * interval '1 millisecond', 0)`.execute(database.db);
      // One whose lease ran out long ago: it has stopped trusting its cache, so no one waits for it.
      await sql`insert into principal_cache_instances (id, lease_until, acked) values (gen_random_uuid(), now() - interval '1 minute', 0)`.execute(database.db);
      const victim = await newPrincipal();
      const began = performance.now();
      const deleted = await a.req({ method: 'DELETE', url: `/v1/principals/${victim.id}`, token: a.adminToken });
      const took = performance.now() - began;
      t.equal(deleted.statusCode, 204);
      t.ok(took >= lease - 200, `the 204 waited for the silent instance's lease (${took.toFixed(0)} ms)`);
      t.ok(took < lease + 3000, 'and no longer than the lease and a poll');
      const quick = await newPrincipal();
      const again = performance.now();
      t.equal((await a.req({ method: 'DELETE', url: `/v1/principals/${quick.id}`, token: a.adminToken })).statusCode, 204);
      t.ok(performance.now() - again < lease - 200, `with the silent instance's lease run out, the next revocation waits for nobody (${(performance.now() - again).toFixed(0)} ms)`);
    });

    t.test('an instance whose listener connection is lost reads principals from the database until it listens again', async (t) => {
      const { principalCacheStatus } = await import('../../src/registry/principal-notifications.js');
      const status = () => principalCacheStatus(b.app.db)!;
      t.match(status(), { listening: true, trusted: true }, 'B listens and trusts its cache');
      const [p, q] = [await newPrincipal(), await newPrincipal()];
      let reads = principalReads;
      t.same([(await me(b, p.token)).statusCode, (await me(b, p.token)).statusCode], [200, 200]);
      t.equal(principalReads - reads, 1, 'while B listens, its cache answers the second request');

      // Hold B's registration back, so that B stays cut off for as long as the test needs.
      const blocker = new pg.Client({ connectionString: database.url });
      await blocker.connect();
      t.teardown(() => blocker.end());
      await blocker.query('begin');
      await blocker.query('lock table principal_cache_instances in share mode');
      const lapses = status().lapses;
      const killed = await sql<{ ok: boolean }>`
      select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${`principal-cache ${status().instance}`}`.execute(database.db);
      t.same(killed.rows, [{ ok: true }], "B's listener connection is cut");
      for (let i = 0; i < 500 && status().lapses === lapses; i++) await sleep(10);
      t.match(status(), { listening: false, trusted: false }, 'B knows it is no longer told of changes');

      reads = principalReads;
      for (let i = 0; i < 3; i++) t.equal((await me(b, q.token)).statusCode, 200);
      t.equal(principalReads - reads, 3, 'meanwhile every request reads the principal from the database');
      await revokeSilently(p.id);
      t.equal((await me(b, p.token)).statusCode, 401, 'so a revocation it was not told of is refused at once');

      await blocker.query('commit');
      for (let i = 0; i < 500 && !status().trusted; i++) await sleep(10);
      t.match(status(), { listening: true, trusted: true }, 'B listens again and trusts its cache again');
      reads = principalReads;
      t.same([(await me(b, q.token)).statusCode, (await me(b, q.token)).statusCode], [200, 200]);
      t.equal(principalReads - reads, 1, 'starting from an empty cache');
    });
  }
});
