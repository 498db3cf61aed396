import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// Every event rewrites its case's record, and a sandbox case's record grows with each report: past
// ~2 KB PostgreSQL compresses it on every write and decompresses it on every read. lz4 does both
// several times faster than the default pglz, at about the same size (measured on records of eight
// reports: 2,980 bytes of JSON stored in 520 bytes either way; rewriting 5,000 of them took 15-25 %
// less time). Values already stored keep pglz until their next event rewrites them. A server built
// without lz4 (the embedded database) keeps pglz.
export async function up(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ lz4: boolean }>`
    select coalesce('lz4' = any(enumvals), false) as lz4 from pg_settings where name = 'default_toast_compression'`.execute(db);
  if (!rows[0]?.lz4) return;
  await sql`alter table cases alter column record set compression lz4, alter column application set compression lz4`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ lz4: boolean }>`
    select coalesce('lz4' = any(enumvals), false) as lz4 from pg_settings where name = 'default_toast_compression'`.execute(db);
  if (!rows[0]?.lz4) return;
  await sql`alter table cases alter column record set compression default, alter column application set compression default`.execute(db);
}
