import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { sql } from 'kysely';
import { migrateToLatest, openDatabase, prepareEmbeddedTemplate, templatePath } from '../../src/db/index.js';

// `npm install` runs scripts/prepare-embedded.ts, which makes the initialised, migrated copy that a
// new embedded data directory starts from: the first `npm start` then neither runs initdb nor migrates.
t.test('the install step prepares the copy a new embedded data directory starts from', async (t) => {
  const template = templatePath();
  if (!template) return t.fail('no template path (is @electric-sql/pglite installed?)');
  fs.rmSync(template, { force: true });

  t.equal(await prepareEmbeddedTemplate(), template);
  t.ok(fs.existsSync(template), 'the copy is there');
  const made = fs.statSync(template).mtimeMs;
  t.equal(await prepareEmbeddedTemplate(), template, 'a second run finds it');
  t.equal(fs.statSync(template).mtimeMs, made, 'and leaves it alone');
  t.same(fs.readdirSync(path.dirname(template)).filter((f) => f.startsWith('prepare-') || f.endsWith('.tmp')), [], 'no scratch left behind');

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
