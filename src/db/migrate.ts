// The migrator: migrations/ are the one definition of the tables, applied in name order.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { Migrator, sql } from './kysely.js';
import type { DB } from './types.js';

const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

const migrationFiles = () => fs.readdirSync(migrationsDir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();

/** A digest of migrations/ (names and contents): a copy or template made under another is stale. */
export function migrationsDigest(): string {
  const digest = createHash('sha256');
  for (const f of migrationFiles()) digest.update(f).update(fs.readFileSync(path.join(migrationsDir, f)));
  return digest.digest('hex');
}

// What to do once a database has been migrated by this process (src/db/embedded.ts: make the copy
// new data directories start from).
const migrated = new WeakMap<object, () => void>();
export const whenMigrated = (db: Kysely<DB>, then: () => void) => void migrated.set(db, then);

class DirectoryMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const file of migrationFiles()) {
      out[file.replace(/\.(ts|js)$/, '')] = await import(pathToFileURL(path.join(migrationsDir, file)).href);
    }
    return out;
  }
}

/** Brings the schema up to date; safe to call from several instances at once (Kysely takes a lock). */
export async function migrateToLatest(db: Kysely<DB>): Promise<string[]> {
  // Every start asks; nearly always nothing is to do. One read answers that, without loading the
  // migration modules or taking the migrator's lock (a third of an embedded restart otherwise).
  const expected = migrationFiles().map((f) => f.replace(/\.(ts|js)$/, ''));
  try {
    const done = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    if (done.rows.length === expected.length && done.rows.every((r, i) => r.name === expected[i])) return [];
  } catch {
    // No migration table yet: a new database.
  }
  const migrator = new Migrator({ db, provider: new DirectoryMigrationProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  const then = migrated.get(db);
  migrated.delete(db);
  then?.();
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
