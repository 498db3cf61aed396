// The embedded database (PGlite): opening a data directory, starting a new one from a copy of a
// migrated one, and making that copy. Loaded only when no DATABASE_URL is given (src/db/index.ts).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely } from './kysely.js';
import type { PGlite } from '@electric-sql/pglite';
import { migrateToLatest, migrationsDigest, whenMigrated } from './migrate.js';
import type { Database, DB } from './types.js';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Each driver is loaded only when used: the embedded one is large, and a start waits for imports.
async function pgliteModules() {
  const [{ PGlite }, { pg_trgm }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm')]);
  // Its CommonJS build, which requires Kysely's CommonJS build, the one src/db/kysely.ts loads.
  const { PGliteDialect } = createRequire(import.meta.url)('kysely-pglite-dialect') as typeof import('kysely-pglite-dialect');
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

export async function openEmbedded(dataDir: string, opts: { makeTemplate: boolean }): Promise<Database> {
  const pglite = await openPglite(dataDir, opts);
  const { PGliteDialect } = await pgliteModules();
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  // The copy serves the next new data directory, not this start (see prepareTemplateInBackground).
  if (templateWanted.has(pglite)) whenMigrated(db, () => setTimeout(prepareTemplateInBackground, TEMPLATE_DELAY_MS).unref());
  return { db, embedded: true, close: () => db.destroy() };
}

