import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import type pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import type { DB } from './types.js';

export type Database = {
  db: Kysely<DB>;
  embedded: boolean;
  /** PostgreSQL's connection URL (absent for the embedded database). */
  url?: string;
  close(): Promise<void>;
};

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export type DatabaseOptions = { databaseUrl: string | null; dataDir: string; poolSize?: number };

/**
 * Names the statements that recur, so each connection parses and plans them once (PostgreSQL's
 * prepared statements) instead of on every call: the hot statements of an event (the case read,
 * the write) are the same text every time. A text is named on its second use, and at most MAX_NAMED texts are,
 * so that one-off texts (e.g. `in (…)` lists of every length) cost nothing on the server.
 */
const PARAMETER_SENSITIVE = /\b(?:order\s+by|i?like)\b/i;

class StatementNames {
  private static readonly MAX_NAMED = 500;
  private static readonly MAX_SEEN = 10_000;
  private readonly seen = new Map<string, string | null>();
  private readonly refused = new Set<string>();
  private named = 0;
  nameFor(text: string): string | undefined {
    // After five runs PostgreSQL may settle on one generic plan for a named statement; a search or
    // a sorted list (LIKE, ORDER BY) wants a plan made for its parameters, so it stays unnamed.
    if (PARAMETER_SENSITIVE.test(text)) return undefined;
    const v = this.seen.get(text);
    if (typeof v === 'string') return this.refused.has(text) ? undefined : v;
    if (v === undefined) {
      if (this.seen.size < StatementNames.MAX_SEEN) this.seen.set(text, null);
      return undefined;
    }
    if (this.named >= StatementNames.MAX_NAMED) return undefined;
    const name = `kysely_${(this.named++).toString(36)}`;
    this.seen.set(text, name);
    return name;
  }
  refuse(text: string) {
    this.refused.add(text);
  }
}

// PostgreSQL refuses a prepared statement whose result columns changed (a migration altered a table
// it reads, e.g. from another instance): that text is then sent unnamed from here on.
const CACHED_PLAN_CHANGED = '0A000';

function preparing(client: pg.PoolClient, statements: StatementNames) {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
      const name = statements.nameFor(config);
      if (name) {
        return (query({ name, text: config, values }) as Promise<unknown>).catch((err: { code?: string }) => {
          if (err?.code !== CACHED_PLAN_CHANGED) throw err;
          statements.refuse(config);
          return query(config, values);
        });
      }
    }
    return query(config, values, callback);
  };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Each driver is loaded only when used: the embedded one is large, and a start waits for imports.
async function pgliteModules() {
  const [{ PGlite }, { pg_trgm }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('kysely-pglite-dialect'),
  ]);
  const options = {
    // trigram indexes keep the public register's substring search fast, as on PostgreSQL
    extensions: { pg_trgm },
    parsers: { [INT8_OID]: (v: string) => v, [NUMERIC_OID]: (v: string) => v },
  };
  return { PGlite, PGliteDialect, options };
}

/**
 * A new embedded data directory starts from a copy of one that was initialised (PGlite's initdb)
 * and migrated, kept in node_modules/.cache under the PGlite version and a digest of migrations/:
 * initdb and the first migration are most of a first start (about 3 s of 4 on an idle machine
 * here), unpacking the copy about 1 s. The first new directory after an install or a new
 * migration makes the copy (see migrateToLatest); a copy that cannot be read or written is not used.
 */
async function openPglite(dataDir: string): Promise<{ pglite: PGlite; makeTemplate: string | null }> {
  const { PGlite, options: pgliteOptions } = await pgliteModules();
  if (dataDir === 'memory://') {
    const pglite = new PGlite({ dataDir, ...pgliteOptions });
    await pglite.waitReady;
    return { pglite, makeTemplate: null };
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  const template = templatePath();
  if (fresh && template && fs.existsSync(template)) {
    try {
      const pglite = new PGlite({ dataDir, ...pgliteOptions, loadDataDir: new Blob([fs.readFileSync(template)]) });
      await pglite.waitReady;
      return { pglite, makeTemplate: null };
    } catch {
      // An unreadable copy: start over with initdb.
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.mkdirSync(dataDir, { recursive: true });
    }
  }
  const pglite = new PGlite({ dataDir, ...pgliteOptions });
  await pglite.waitReady;
  return { pglite, makeTemplate: fresh ? template : null };
}

/** Where the copy of a new, migrated embedded data directory is kept (null: cannot tell). */
export function templatePath(): string | null {
  try {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
    const digest = createHash('sha256');
    for (const f of migrationFiles()) digest.update(f).update(fs.readFileSync(path.join(migrationsDir, f)));
    return path.join(root, 'node_modules/.cache/gd-ai-sandbox-registry', `pglite-${version}-${digest.digest('hex').slice(0, 16)}.tar.gz`);
  } catch {
    return null;
  }
}

// Embedded databases opened on a new directory with no copy to start from: the copy is made once
// they are migrated.
const templatesToMake = new WeakMap<object, { pglite: PGlite; path: string }>();
const TEMPLATE_DELAY_MS = 3000;

async function makeTemplate(db: object): Promise<boolean> {
  const pending = templatesToMake.get(db);
  if (!pending) return false;
  templatesToMake.delete(db);
  try {
    const dump = Buffer.from(await (await pending.pglite.dumpDataDir('gzip')).arrayBuffer());
    fs.mkdirSync(path.dirname(pending.path), { recursive: true });
    const tmp = `${pending.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, dump);
    fs.renameSync(tmp, pending.path);
    return true;
  } catch {
    // No copy this time (read-only install, full disk): the next new directory migrates itself.
    return false;
  }
}

/**
 * Makes the copy a new embedded data directory starts from, if there is none yet: `npm install`
 * runs it (scripts/prepare-embedded.ts), so that the first `npm start` after an install does not
 * wait for initdb and the migrations. Answers where the copy is, or null when none could be made.
 */
export async function prepareEmbeddedTemplate(): Promise<string | null> {
  const template = templatePath();
  if (!template) return null;
  if (fs.existsSync(template)) return template;
  fs.mkdirSync(path.dirname(template), { recursive: true });
  const dir = fs.mkdtempSync(path.join(path.dirname(template), 'prepare-'));
  try {
    const database = await openDatabase({ databaseUrl: null, dataDir: dir });
    try {
      await migrateToLatest(database.db);
      return (await makeTemplate(database.db)) ? template : null;
    } finally {
      await database.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const { default: pg } = await import('pg');
    // bigint and numeric come back as strings, exactly as the pg driver returns them.
    pg.types.setTypeParser(INT8_OID, (v: string) => v);
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 20 });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => {});
    const statements = new StatementNames();
    pool.on('connect', (client) => preparing(client, statements));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, embedded: false, url: opts.databaseUrl, close: () => db.destroy() };
  }
  const { pglite, makeTemplate: template } = await openPglite(opts.dataDir);
  const { PGliteDialect } = await pgliteModules();
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  if (template) templatesToMake.set(db, { pglite, path: template });
  return { db, embedded: true, close: () => db.destroy() };
}

const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

const migrationFiles = () => fs.readdirSync(migrationsDir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();

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
  // The copy serves the next new data directory, not this start: it is made once this one has had
  // time to come up (a dump holds the database for about a second). A process gone before then
  // leaves none, and the next new directory migrates itself and tries again.
  if (templatesToMake.has(db)) setTimeout(() => void makeTemplate(db), TEMPLATE_DELAY_MS).unref();
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
