import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The register's `q` matches part of a certificate's number, its holder's name (Chinese or
// English) or its product's name, each on its own. Until now it was matched against one lowercased
// concatenation of the four in the projection, with a trigram index over a million such strings:
// a query made of common trigrams (a company suffix, a number prefix) read most of that index, and
// a match could straddle two fields. Names are few beside certificates (each holder and product
// holds many), so they are searched where they live, in organizations and products, and the
// certificates of the names found are read through (holder_id | product_id, issued_at, number)
// indexes that also carry what the register filters on (scheme, status, valid_until), so that a
// page of them is ordered and filtered from the index alone. The number has indexes of its own,
// for fragments (trigrams) and for prefixes (text_pattern_ops: a prefix LIKE under any collation).
//
// A name is found by trigrams when q has one; one or two characters ("深圳", a two-character brand)
// have none, so names are also indexed by their one- and two-character substrings (name_grams):
// small tables, small indexes, and exact for such a q. Without pg_trgm (an embedded database built
// without it, a server where it could not be created) there are no trigram indexes and a longer q
// reads the name tables through: slower on a large register, never wrong.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists certificates_search_trgm_idx`.execute(db);
  await sql`alter table certificates drop column search`.execute(db);

  await sql`
    create function name_grams(name text) returns text[] language sql immutable strict parallel safe as $$
      select coalesce(array_agg(distinct substr(l, i, n)), '{}')
        from (select lower(name) as l) as lowered, generate_series(1, char_length(l)) as i, (values (1), (2)) as lengths(n)
       where i + n - 1 <= char_length(l)
    $$`.execute(db);
  await sql`create index organizations_name_grams_idx on organizations using gin (name_grams(name))`.execute(db);
  await sql`create index organizations_name_en_grams_idx on organizations using gin (name_grams(name_en))`.execute(db);
  await sql`create index products_name_grams_idx on products using gin (name_grams(name))`.execute(db);
  const trgm = await sql<{ ok: number }>`select 1 as ok from pg_extension where extname = 'pg_trgm'`.execute(db);
  if (trgm.rows.length > 0) {
    await sql`create index organizations_name_trgm_idx on organizations using gin (name gin_trgm_ops)`.execute(db);
    await sql`create index organizations_name_en_trgm_idx on organizations using gin (name_en gin_trgm_ops)`.execute(db);
    await sql`create index products_name_trgm_idx on products using gin (name gin_trgm_ops)`.execute(db);
    await sql`create index certificates_number_trgm_idx on certificates using gin (number gin_trgm_ops)`.execute(db);
  }
  await sql`create index certificates_number_prefix_idx on certificates (number text_pattern_ops)`.execute(db);
  // These lead with holder_id and product_id, so they also serve the rename triggers in place of
  // the single-column indexes of migration 02.
  await sql`create index certificates_holder_order_idx on certificates (holder_id, issued_at, number) include (scheme, status, valid_until)`.execute(db);
  await sql`create index certificates_product_order_idx on certificates (product_id, issued_at, number) include (scheme, status, valid_until)`.execute(db);
  await sql`drop index certificates_holder_idx`.execute(db);
  await sql`drop index certificates_product_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index certificates_holder_idx on certificates (holder_id)`.execute(db);
  await sql`create index certificates_product_idx on certificates (product_id)`.execute(db);
  await sql`drop index certificates_product_order_idx`.execute(db);
  await sql`drop index certificates_holder_order_idx`.execute(db);
  await sql`drop index certificates_number_prefix_idx`.execute(db);
  await sql`drop index if exists certificates_number_trgm_idx`.execute(db);
  await sql`drop index if exists products_name_trgm_idx`.execute(db);
  await sql`drop index if exists organizations_name_en_trgm_idx`.execute(db);
  await sql`drop index if exists organizations_name_trgm_idx`.execute(db);
  await sql`drop index products_name_grams_idx`.execute(db);
  await sql`drop index organizations_name_en_grams_idx`.execute(db);
  await sql`drop index organizations_name_grams_idx`.execute(db);
  await sql`drop function name_grams(text)`.execute(db);
  await sql`
    alter table certificates add column search text not null
      generated always as (lower(number || ' ' || holder_name || ' ' || coalesce(holder_name_en, '') || ' ' || product_name)) stored`.execute(db);
  const trgm = await sql<{ ok: number }>`select 1 as ok from pg_extension where extname = 'pg_trgm'`.execute(db);
  if (trgm.rows.length > 0) await sql`create index certificates_search_trgm_idx on certificates using gin (search gin_trgm_ops)`.execute(db);
}
