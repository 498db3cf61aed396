import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../generated/db.js';

// The table types are generated from the migrated database (src/generated/db.ts, `npm run
// gen:db-types`): the migrations are their one definition. A row as read is Selectable<Cases> etc.
export type * from '../generated/db.js';

export type Db = Kysely<DB>;
export type Trx = Transaction<DB>;
export type DbOrTrx = Kysely<DB> | Transaction<DB>;
