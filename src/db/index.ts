import { spawn } from 'node:child_process';
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
 * A new embedded data directory starts as a copy of one that was initialised (PGlite's initdb),
 * migrated and cleanly closed, kept in node_modules/.cache under the PGlite version and a digest of
 * migrations/: initdb and the first migration are most of a first start (about 3 s of 4 on an idle
 * machine here). The copy is a plain directory: copying its ~1,000 files (40 MB) takes 0.1-0.3 s,
 * where loading PGlite's own tar.gz dump of it took ~1 s. `npm install` makes it (prepareEmbeddedTemplate);
 * a start that finds none makes one in the background for the next; a copy that cannot be read or
 * written is not used.
 */
async function openPglite(dataDir: string, opts: { makeTemplate: boolean }): Promise<PGlite> {
  const { PGlite, options: pgliteOptions } = await pgliteModules();
  if (dataDir === 'memory://') {
    const pglite = new PGlite({ dataDir, ...pgliteOptions });
    await pglite.waitReady;
    return pglite;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const fresh = !isInitialised(dataDir);
  const template = templatePath();
  if (fresh && template && isInitialised(template)) {
    try {
      await copyDataDir(template, dataDir);
      const pglite = new PGlite({ dataDir, ...pgliteOptions });
      await pglite.waitReady;
      return pglite;
    } catch {
      // An unreadable copy: start over with initdb.
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.mkdirSync(dataDir, { recursive: true });
    }
  }
  const pglite = new PGlite({ dataDir, ...pgliteOptions });
  await pglite.waitReady;
  if (fresh && template && opts.makeTemplate) templateWanted.add(pglite);
  return pglite;
}

/**
 * Copies a closed data directory; PG_VERSION, by which a directory is known to be initialised, goes
 * last, so a copy cut short is taken for a new directory next time and copied again over itself.
 * Files and directories only (a data directory holds nothing else). The files are copied off the
 * main thread (fs.promises), so that the service's modules load meanwhile (src/main.ts opens the
 * database first); copying many at once was no faster than one at a time on the disks measured.
 */
export async function copyDataDir(from: string, to: string) {
  const files: Array<[string, string]> = [];
  const walk = (src: string, dest: string, top: boolean) => {
    fs.mkdirSync(dest, { recursive: true });
    for (const e of fs.readdirSync(src, { withFileTypes: true })) {
      if (top && (e.name === 'PG_VERSION' || e.name === 'postmaster.pid')) continue;
      if (e.isDirectory()) walk(path.join(src, e.name), path.join(dest, e.name), false);
      else if (e.isFile()) files.push([path.join(src, e.name), path.join(dest, e.name)]);
    }
  };
  walk(from, to, true);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const [src, dest] = files[next++]!;
      await fs.promises.copyFile(src, dest);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  fs.copyFileSync(path.join(from, 'PG_VERSION'), path.join(to, 'PG_VERSION'));
}

/**
 * Where the copy of a new, migrated embedded data directory is kept (null: cannot tell). The test
 * suite keeps its own under another prefix (test/helpers/template.ts), since a test removes this one.
 */
export function templatePath(prefix = 'pglite'): string | null {
  try {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
    return path.join(root, 'node_modules/.cache/gd-ai-sandbox-registry', `${prefix}-${version}-${migrationsDigest().slice(0, 16)}`);
  } catch {
    return null;
  }
}

/** A digest of migrations/ (names and contents): a copy or template made under another is stale. */
export function migrationsDigest(): string {
  const digest = createHash('sha256');
  for (const f of migrationFiles()) digest.update(f).update(fs.readFileSync(path.join(migrationsDir, f)));
  return digest.digest('hex');
}

/** A data directory, or the copy of one, is whole once its PG_VERSION is there (a copy writes it last). */
export const isInitialised = (dir: string) => fs.existsSync(path.join(dir, 'PG_VERSION'));

/** Scratch directories a copy is made in, beside it; this process's carry its pid (a test looks for its own). */
export const TEMPLATE_SCRATCH_PREFIX = 'prepare-';
export const templateScratchPrefix = () => `${TEMPLATE_SCRATCH_PREFIX}${process.pid}-`;

/**
 * Makes the copy a new embedded data directory starts from, if there is none yet: `npm install`
 * runs it (scripts/prepare-embedded.ts), so that the first `npm start` after an install does not
 * wait for initdb and the migrations. A scratch directory is initialised, migrated and closed, then
 * renamed into place, so the copy is whole or absent; of two made at once, the first renamed stays.
 * Answers where the copy is, or null when none could be made.
 */
export async function prepareEmbeddedTemplate(template = templatePath()): Promise<string | null> {
  if (!template) return null;
  if (isInitialised(template)) return template;
  fs.mkdirSync(path.dirname(template), { recursive: true });
  const dir = fs.mkdtempSync(path.join(path.dirname(template), templateScratchPrefix()));
  try {
    const database = await openEmbedded(dir, { makeTemplate: false });
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.close();
    }
    try {
      fs.renameSync(dir, template);
    } catch (err) {
      // Another process put its copy there first (or an old, broken one is in the way).
      if (!isInitialised(template)) throw err;
    }
    return template;
  } catch {
    // No copy this time (read-only install, full disk): the next new directory migrates itself.
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// An embedded database opened on a new directory with no copy to start from: once it is migrated
// and has had time to come up, the copy is made in a child process (PGlite runs on the thread that
// opens it; its initdb would hold this process's event loop for seconds). A process gone before
// then leaves none, and the next new directory migrates itself and tries again.
const templateWanted = new WeakSet<object>();
const TEMPLATE_DELAY_MS = 3000;

function prepareTemplateInBackground() {
  // The same loader flags as this process (tsx), without a debugger's or profiler's.
  const execArgv = process.execArgv.filter((a) => !/^--(inspect|cpu-prof|heap-prof|prof)/.test(a));
  const child = spawn(process.execPath, [...execArgv, path.join(root, 'scripts/prepare-embedded.ts')], { cwd: root, stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}

async function openEmbedded(dataDir: string, opts: { makeTemplate: boolean }): Promise<Database> {
  const pglite = await openPglite(dataDir, opts);
  const { PGliteDialect } = await pgliteModules();
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  if (templateWanted.has(pglite)) templateWanted.add(db);
  return { db, embedded: true, close: () => db.destroy() };
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
    pool.on('connect', (client) => {
      preparing(client, statements);
      // Nor a checked-out client's (the pool listens only to idle ones): its query fails with the
      // error, and the pool drops the client when it is released.
      client.on('error', () => {});
    });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, embedded: false, url: opts.databaseUrl, close: () => db.destroy() };
  }
  return openEmbedded(opts.dataDir, { makeTemplate: true });
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
  // The copy serves the next new data directory, not this start (see prepareTemplateInBackground).
  if (templateWanted.has(db)) {
    templateWanted.delete(db);
    setTimeout(prepareTemplateInBackground, TEMPLATE_DELAY_MS).unref();
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
