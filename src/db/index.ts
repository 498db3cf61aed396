import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kysely, Migrator, PostgresDialect, type Dialect, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { DB } from './types.js';

export type Database = {
  db: Kysely<DB>;
  embedded: boolean;
  close(): Promise<void>;
};

const INT8_OID = 20;
const NUMERIC_OID = 1700;
// bigint and numeric come back as strings, exactly as the pg driver returns them.
pg.types.setTypeParser(INT8_OID, (v: string) => v);

export type DatabaseOptions = { databaseUrl: string | null; dataDir: string; poolSize?: number };

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let dialect: Dialect;
  let embedded = false;
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 20 });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => {});
    dialect = new PostgresDialect({ pool });
  } else {
    embedded = true;
    if (opts.dataDir !== 'memory://') fs.mkdirSync(opts.dataDir, { recursive: true });
    const pglite = new PGlite({
      dataDir: opts.dataDir,
      // trigram indexes keep the public register's substring search fast, as on PostgreSQL
      extensions: { pg_trgm },
      parsers: { [INT8_OID]: (v: string) => v, [NUMERIC_OID]: (v: string) => v },
    });
    await pglite.waitReady;
    dialect = new PGliteDialect(pglite);
  }
  const db = new Kysely<DB>({ dialect });
  return { db, embedded, close: () => db.destroy() };
}

const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

class DirectoryMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const file of fs.readdirSync(migrationsDir).sort()) {
      if (!/\.(ts|js)$/.test(file) || file.endsWith('.d.ts')) continue;
      out[file.replace(/\.(ts|js)$/, '')] = await import(pathToFileURL(path.join(migrationsDir, file)).href);
    }
    return out;
  }
}

/** Brings the schema up to date; safe to call from several instances at once (Kysely takes a lock). */
export async function migrateToLatest(db: Kysely<DB>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new DirectoryMigrationProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
