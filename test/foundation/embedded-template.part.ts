import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from '../../src/db/kysely.js';
import { migrateToLatest, openDatabase, prepareEmbeddedTemplate, templatePath, isInitialised, templateScratchPrefix } from '../../src/db/index.js';
import { testDatabaseUrl } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // What these check is the embedded database's alone and the same on either pass (it never reads
  // DATABASE_URL): it runs in the embedded pass, and the PostgreSQL pass reports it skipped.
  const skip = testDatabaseUrl() ? 'the embedded data directory copies are checked in the embedded pass only (they do not use PostgreSQL)' : false;

  // `npm install` runs scripts/prepare-embedded.ts, which makes the initialised, migrated copy that a
  // new embedded data directory starts from: the first `npm start` then neither runs initdb nor migrates.
  t.test('the install step prepares the copy a new embedded data directory starts from', { skip }, async (t) => {
    const template = templatePath();
    if (!template) return t.fail('no template path (is @electric-sql/pglite installed?)');
    fs.rmSync(template, { recursive: true, force: true });

    t.equal(await prepareEmbeddedTemplate(), template);
    t.ok(isInitialised(template), 'the copy is there, a closed data directory');
    const made = fs.statSync(template).mtimeMs;
    t.equal(await prepareEmbeddedTemplate(), template, 'a second run finds it');
    t.equal(fs.statSync(template).mtimeMs, made, 'and leaves it alone');
    t.same(fs.readdirSync(path.dirname(template)).filter((f) => f.startsWith(templateScratchPrefix())), [], 'no scratch left behind');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-template-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const database = await openDatabase({ databaseUrl: null, dataDir: dir });
    try {
      t.same(await migrateToLatest(database.db), [], 'a new data directory starts migrated');
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from cases`.execute(database.db);
      t.equal(rows[0]!.n, 0, 'with the schema and no rows');
    } finally {
      await database.close();
    }
  });

  t.test('each new data directory is a copy of its own, and a copy cut short is made again', { skip }, async (t) => {
    const template = await prepareEmbeddedTemplate();
    if (!template) return t.fail('no copy could be made');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-copies-'));
    t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    // b: a copy cut short, every file but PG_VERSION (which the copy writes last)
    fs.cpSync(template, b, { recursive: true, filter: (src) => path.basename(src) !== 'PG_VERSION' });
    fs.writeFileSync(path.join(b, 'global', 'pg_control'), 'half written');

    const first = await openDatabase({ databaseUrl: null, dataDir: a });
    try {
      await sql`create table only_in_a (x int)`.execute(first.db);
    } finally {
      await first.close();
    }
    const second = await openDatabase({ databaseUrl: null, dataDir: b });
    try {
      t.same(await migrateToLatest(second.db), [], 'the directory cut short opens migrated');
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_tables where tablename = 'only_in_a'`.execute(second.db);
      t.equal(rows[0]!.n, 0, 'and holds nothing written in another new directory');
    } finally {
      await second.close();
    }
    t.ok(isInitialised(template), 'the copy itself is untouched');
    t.notOk(fs.existsSync(path.join(template, 'postmaster.pid')));
  });

  // A start with no copy (an install with --ignore-scripts, a migration added since) initialises its
  // directory itself and leaves a copy for the next, made in a child process a few seconds later.
  t.test('a new directory opened with no copy leaves one for the next', { skip }, async (t) => {
    const template = templatePath();
    if (!template) return t.fail('no template path');
    fs.rmSync(template, { recursive: true, force: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-nocopy-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const database = await openDatabase({ databaseUrl: null, dataDir: dir });
    try {
      t.ok((await migrateToLatest(database.db)).length > 0, 'it ran the migrations itself');
    } finally {
      await database.close();
    }
    const until = Date.now() + 120_000;
    while (!isInitialised(template) && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    t.ok(isInitialised(template), 'the copy was made in the background');
  });
});
