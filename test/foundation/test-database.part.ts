import fs from 'node:fs';
import { sql } from '../../src/db/kysely.js';
import pg from 'pg';
import { migrateToLatest } from '../../src/db/index.js';
import { buildTestApp, captureLogs, openTestDatabase, testDatabaseUrl } from '../helpers/app.js';
import { SCRATCH_PREFIX, scratchRoot } from '../helpers/template.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // Test databases are copies of a template migrated once (test/helpers/template.ts); what every other
  // test relies on: each is migrated, empty, its own, and gone once closed.

  const migrationNames = () =>
    fs
      .readdirSync(new URL('../../migrations/', import.meta.url))
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .map((f) => f.replace(/\.(ts|js)$/, ''))
      .sort();

  const myCopies = () => fs.readdirSync(scratchRoot()).filter((n) => n.startsWith(`${SCRATCH_PREFIX}${process.pid}-`));

  t.test('a test database starts migrated and empty, is its own, and is removed on close', async (t) => {
    const a = await openTestDatabase();
    const b = await openTestDatabase();
    let closed = false;
    t.teardown(async () => {
      if (!closed) await Promise.all([a.close(), b.close()]);
    });

    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(a.db);
    t.same(
      rows.map((r) => r.name),
      migrationNames(),
      'every migration is recorded',
    );
    t.same(await migrateToLatest(a.db), [], 'so the app finds nothing to migrate');
    const count = async (db: typeof a.db) => (await sql<{ n: number }>`select count(*)::int as n from principals`.execute(db)).rows[0]!.n;
    t.equal(await count(a.db), 0, 'no principals');

    await sql`create table only_in_a (x int)`.execute(a.db);
    const tables = async (db: typeof a.db) => (await sql<{ n: number }>`select count(*)::int as n from pg_tables where tablename = 'only_in_a'`.execute(db)).rows[0]!.n;
    t.equal(await tables(a.db), 1);
    t.equal(await tables(b.db), 0, 'what is made in one is not in the other');

    const url = testDatabaseUrl();
    if (url) {
      const names = [a.url, b.url].map((u) => new URL(u!).pathname.slice(1));
      await Promise.all([a.close(), b.close()]);
      closed = true;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const left = await admin.query('select datname from pg_database where datname = any($1)', [names]);
      await admin.end();
      t.same(left.rows, [], 'both databases are dropped on close');
    } else {
      t.equal(myCopies().length, 2, 'each embedded database is a copy of its own');
      await Promise.all([a.close(), b.close()]);
      closed = true;
      t.same(myCopies(), [], 'and the copies are removed on close');
    }
  });

  t.test('buildTestApp takes a logger, whose lines a test can read', async (t) => {
    const logs = captureLogs('info');
    const ta = await buildTestApp(t, { logger: logs.logger });
    const r = await ta.req({ method: 'GET', url: '/v1/me', token: ta.adminToken, headers: { 'x-request-id': 'captured-1' } });
    t.equal(r.statusCode, 200);
    const line = logs.records().find((l) => l.reqId === 'captured-1' && l.msg === 'request completed');
    t.same(line?.res, { statusCode: 200 }, 'the request is logged');
    t.notOk(logs.lines.join('').includes(ta.adminToken), 'with its credentials redacted as in the service');
  });
});
