import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { copyDataDir, isInitialised, migrateToLatest, migrationsDigest, openDatabase, prepareEmbeddedTemplate, templatePath, type Database } from '../../src/db/index.js';

// Each test file starts from a database that is already migrated, made once per set of migrations
// (initdb and the migrations were most of a typical file's time on PGlite: ~4 s of CPU per
// database, against ~0.5 s for a copy). The app still migrates at start; it finds nothing to do.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

// ---- the embedded database: a copy of a prepared data directory ----

// Its own copy, not the one `npm start` uses: test/foundation/embedded-template.part.ts removes that one.
const TEST_TEMPLATE_PREFIX = 'test-pglite';
const LOCK_STALE_MS = 5 * 60_000;

/**
 * The migrated data directory test databases are copied from, made by the first process that needs
 * it (src/db/embedded.ts prepareEmbeddedTemplate), while the others wait on a lock file instead of
 * making their own at the same time. Null when none can be made (read-only node_modules).
 */
async function embeddedTemplate(): Promise<string | null> {
  const template = templatePath(TEST_TEMPLATE_PREFIX);
  if (!template) return null;
  fs.mkdirSync(path.dirname(template), { recursive: true });
  const lock = `${template}.lock`;
  for (;;) {
    if (isInitialised(template)) return template;
    let fd: number;
    try {
      fd = fs.openSync(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return prepareEmbeddedTemplate(template);
      if (lockIsStale(lock)) fs.rmSync(lock, { force: true });
      else await sleep(100);
      continue;
    }
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    try {
      const made = await prepareEmbeddedTemplate(template);
      if (made) removeOtherTemplates(template);
      return made;
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}

/** A lock whose maker died (a killed tap job) or that is older than any making takes. */
function lockIsStale(lock: string): boolean {
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8'));
    return (pid > 0 && !alive(pid)) || Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false; // just removed, or not yet written: look again
  }
}

/** Copies made for earlier migrations (or PGlite versions) are of no further use; an hour's grace for a run still using one. */
function removeOtherTemplates(current: string) {
  const dir = path.dirname(current);
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (!name.startsWith(`${TEST_TEMPLATE_PREFIX}-`) || p === current || name.endsWith('.lock')) continue;
    try {
      if (Date.now() - fs.statSync(p).mtimeMs > 3_600_000) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // another process removed it first
    }
  }
}

let embeddedTemplateMade: Promise<string | null> | undefined;

// On tmpfs where there is one: the copy is then never written to disk (on a busy disk, copying and
// removing 40 MB took seconds).
export const scratchRoot = () => {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
};
export const SCRATCH_PREFIX = 'gd-test-db-';

/** Copies left by test processes that were killed before their teardown (40 MB each, in memory on tmpfs). */
function removeOrphanCopies(root: string) {
  for (const name of fs.readdirSync(root)) {
    if (!name.startsWith(SCRATCH_PREFIX)) continue;
    const pid = Number(name.slice(SCRATCH_PREFIX.length).split('-')[0]);
    if (pid > 0 && !alive(pid)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

/** A new embedded database of its own: a copy of the migrated template in a directory removed on close. */
export async function openEmbeddedTestDatabase(): Promise<Database> {
  const template = await (embeddedTemplateMade ??= embeddedTemplate());
  if (!template) return openDatabase({ databaseUrl: null, dataDir: 'memory://' });
  const root = scratchRoot();
  removeOrphanCopies(root);
  const dir = fs.mkdtempSync(path.join(root, `${SCRATCH_PREFIX}${process.pid}-`));
  try {
    await copyDataDir(template, dir);
    // The production path from here on: a directory that is already initialised is opened as it is.
    const database = await openDatabase({ databaseUrl: null, dataDir: dir });
    return {
      ...database,
      close: async () => {
        try {
          await database.close();
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// ---- PostgreSQL: CREATE DATABASE … TEMPLATE a migrated database ----

const TEMPLATE_NAME = /^tmpl_[0-9a-f]{12}$/;
/** Templates kept (newest first, by oid): a run started before a migration changed keeps its own. */
const TEMPLATES_KEPT = 3;

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/**
 * The name of the migrated template database for these migrations on the server of `adminUrl`
 * (a database to connect to, e.g. /postgres). The first process to need it makes it, under an
 * advisory lock so that parallel tap jobs wait instead of racing; it is marked a template and
 * closed to connections (CREATE DATABASE … TEMPLATE refuses a template someone is connected to).
 * A template is only marked once migrated, so one left half-made by a killed process is made again.
 */
async function postgresTemplate(adminUrl: string): Promise<string> {
  const name = `tmpl_${migrationsDigest().slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const ready = async () => (await admin.query('select 1 from pg_database where datname = $1 and datistemplate', [name])).rowCount === 1;
  try {
    if (await ready()) return name;
    await admin.query(`select pg_advisory_lock(hashtext('gd-ai-sandbox-registry test template'))`);
    if (await ready()) return name;
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
    const database = await openDatabase({ databaseUrl: withDatabase(adminUrl, name), dataDir: '', poolSize: 1 });
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.close();
    }
    await admin.query(`alter database ${name} is_template true allow_connections false`);
    const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datistemplate order by oid desc');
    for (const { datname } of rows.filter((r) => TEMPLATE_NAME.test(r.datname)).slice(TEMPLATES_KEPT)) {
      await admin.query(`alter database ${datname} is_template false`).catch(() => {});
      await admin.query(`drop database if exists ${datname}`).catch(() => {});
    }
    return name;
  } finally {
    // Ending the session releases the lock, if it was taken.
    await admin.end();
  }
}

let postgresTemplateMade: Promise<string> | undefined;

/** A new PostgreSQL database of its own, a copy of the migrated template; answers its URL. */
export async function createPostgresTestDatabase(url: string, name: string): Promise<{ adminUrl: string; dbUrl: string }> {
  const adminUrl = withDatabase(url, 'postgres');
  const create = async () => {
    const template = await (postgresTemplateMade ??= postgresTemplate(adminUrl).catch((err) => {
      postgresTemplateMade = undefined;
      throw err;
    }));
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`create database ${name} template ${template}`);
    } finally {
      await admin.end();
    }
  };
  try {
    await create();
  } catch (err) {
    // 3D000: the template was dropped since (TEMPLATES_KEPT newer ones were made meanwhile): make it again.
    if ((err as { code?: string }).code !== '3D000') throw err;
    postgresTemplateMade = undefined;
    await create();
  }
  return { adminUrl, dbUrl: withDatabase(url, name) };
}
