import fs from 'node:fs';
import t from 'tap';
import { dbTypesFile, generateDbTypes } from '../scripts/gen-db-types.js';
import { generateTypes, generatedFile } from '../scripts/gen-types.js';
import { openTestDatabase } from './helpers/app.js';

t.test('src/generated/schemas.ts is current with schemas/ (run `npm run gen:types`)', async (t) => {
  t.equal(fs.readFileSync(generatedFile, 'utf8'), await generateTypes());
});

// Read from a test database (a copy of the migrated template, on PostgreSQL too): the same catalogue
// the script reads from a new in-memory PGlite, without its initdb.
t.test('src/generated/db.ts is current with migrations/ (run `npm run gen:db-types`)', async (t) => {
  const database = await openTestDatabase();
  t.teardown(() => database.close());
  t.equal(fs.readFileSync(dbTypesFile, 'utf8'), await generateDbTypes(database.db));
});

t.test('README.md workflow diagrams are current with the machines (run `npm run gen:readme`)', async (t) => {
  const { readmeFile, updatedReadme } = await import('../scripts/gen-readme.js');
  const readme = fs.readFileSync(readmeFile, 'utf8');
  t.equal(readme, updatedReadme(readme));
});
