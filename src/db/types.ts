import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../generated/db.js';

// The table types are generated from the migrated database (src/generated/db.ts, `npm run
// gen:db-types`): the migrations are their one definition. A row as read is Selectable<Cases> etc.
export type * from '../generated/db.js';

export type Db = Kysely<DB>;
export type Trx = Transaction<DB>;
export type DbOrTrx = Kysely<DB> | Transaction<DB>;

/** An open database: the service's one handle on its tables. */
export type Database = {
  db: Kysely<DB>;
  embedded: boolean;
  /** PostgreSQL's connection URL (absent for the embedded database). */
  url?: string;
  close(): Promise<void>;
};

export type DatabaseOptions = { databaseUrl: string | null; dataDir: string; poolSize?: number };
