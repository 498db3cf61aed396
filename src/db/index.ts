// Opening the database: PostgreSQL when a URL is given (src/db/postgres.ts), else the embedded
// PGlite in a data directory (src/db/embedded.ts); migrations/ bring either up to date (src/db/migrate.ts).
// Each driver is loaded only when used: the embedded one is large, and a start waits for imports.
import type { Database, DatabaseOptions } from './types.js';

export type { Database, DatabaseOptions } from './types.js';
export { migrateToLatest, migrationsDigest } from './migrate.js';
export { copyDataDir, isInitialised, prepareEmbeddedTemplate, TEMPLATE_SCRATCH_PREFIX, templatePath, templateScratchPrefix } from './embedded.js';

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const { openPostgres } = await import('./postgres.js');
    return openPostgres(opts.databaseUrl, opts.poolSize);
  }
  const { openEmbedded } = await import('./embedded.js');
  return openEmbedded(opts.dataDir, { makeTemplate: true });
}
