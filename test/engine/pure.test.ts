// The engine (src/engine) is the pure transition: judged without I/O, replayed by the audit
// verification, run by machine tests without a database. Nothing it loads may reach the database.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
const engineDir = path.join(src, 'engine');
const DATABASE_PACKAGES = /^(kysely|kysely-[\w-]+|pg|pg-[\w-]+|@electric-sql\/pglite)(\/|$)/;

/** Every module specifier of a file; `type` tells whether the import is erased at run time. */
function importsOf(file: string): Array<{ spec: string; type: boolean }> {
  const text = fs.readFileSync(file, 'utf8');
  const out: Array<{ spec: string; type: boolean }> = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?\s*from\s*'([^']+)'/gm)) out.push({ spec: m[3]!, type: Boolean(m[2]) });
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push({ spec: m[1]!, type: false });
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push({ spec: m[1]!, type: false });
  return out;
}

const resolve = (from: string, spec: string) => path.resolve(path.dirname(from), spec.replace(/\.js$/, '.ts'));
const inDb = (file: string) => file.startsWith(path.join(src, 'db') + path.sep);
const engineFiles = fs.readdirSync(engineDir).filter((f) => f.endsWith('.ts')).map((f) => path.join(engineDir, f));

t.test('no file under src/engine imports the database packages or src/db, even for their types', async (t) => {
  t.ok(engineFiles.length >= 4, 'the engine files are found');
  const found: string[] = [];
  for (const file of engineFiles) {
    for (const { spec } of importsOf(file)) {
      if (DATABASE_PACKAGES.test(spec) || (spec.startsWith('.') && inDb(resolve(file, spec)))) found.push(`${path.relative(src, file)} -> ${spec}`);
    }
  }
  t.same(found, [], 'no import of kysely, pg, PGlite or src/db');
});

t.test('the engine types rows by the generated table types, imported for their type only', async (t) => {
  const generated = path.join(src, 'generated', 'db.ts');
  const uses: string[] = [];
  const loads: string[] = [];
  for (const file of engineFiles) {
    for (const { spec, type } of importsOf(file)) {
      if (!spec.startsWith('.') || resolve(file, spec) !== generated) continue;
      (type ? uses : loads).push(path.relative(src, file));
    }
  }
  t.ok(uses.length >= 1, `a case row is the generated row of the cases table (${uses.join(', ')})`);
  t.same(loads, [], 'never a run-time import of the generated table types');
});

t.test('nothing the engine loads at run time (within src) loads the database', async (t) => {
  const seen = new Set<string>();
  const queue = [...engineFiles];
  const found: string[] = [];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { spec, type } of importsOf(file)) {
      if (type) continue;
      const via = `${path.relative(src, file)} -> ${spec}`;
      if (DATABASE_PACKAGES.test(spec)) found.push(via);
      if (!spec.startsWith('.')) continue;
      const target = resolve(file, spec);
      // The workflows are not src: they may build list filters with kysely for the persistence.
      if (!target.startsWith(src) || !fs.existsSync(target)) continue;
      if (inDb(target)) found.push(via);
      queue.push(target);
    }
  }
  t.same(found, [], 'no run-time path from src/engine to kysely, pg, PGlite or src/db');
  t.ok(seen.size > engineFiles.length, 'the walk followed the engine\'s imports');
});
