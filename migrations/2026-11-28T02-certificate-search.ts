import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The public certificate register reads a projection of certification cases, kept by triggers in
// the same transaction as the event that changes a case (the engine knows nothing of it). Holder,
// product and lab names are copied in, so a search is one table and one index, never a join.
export async function up(db: Kysely<any>): Promise<void> {
  // pg_trgm makes `%q%` searches indexable. PostgreSQL ships it as a trusted extension; the embedded
  // database has it only when it is loaded as a PGlite extension. Without it, search still works
  // (a scan), so a missing extension or missing privilege is not an error.
  await sql`
    do $$ begin
      if exists (select 1 from pg_available_extensions where name = 'pg_trgm') then
        begin
          create extension if not exists pg_trgm;
        exception when insufficient_privilege then
          raise notice 'pg_trgm not created (insufficient privilege); certificate search will scan';
        end;
      end if;
    end $$`.execute(db);

  await db.schema
    .createTable('certificates')
    .addColumn('number', 'text', (c) => c.primaryKey())
    .addColumn('case_id', 'uuid', (c) => c.notNull().unique().references('cases.id'))
    .addColumn('state', 'text', (c) => c.notNull())
    // status as of the case's last event; a certificate past valid_until whose EXPIRE has not yet
    // been fired reads as expired (the register applies the clock at query time)
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('valid', 'suspended', 'revoked', 'expired')`))
    .addColumn('scheme', 'text', (c) => c.notNull())
    .addColumn('holder_id', 'uuid', (c) => c.notNull())
    .addColumn('holder_name', 'text', (c) => c.notNull())
    .addColumn('holder_name_en', 'text')
    .addColumn('product_id', 'uuid')
    .addColumn('product_name', 'text', (c) => c.notNull())
    .addColumn('product_version', 'text', (c) => c.notNull())
    .addColumn('lab_id', 'uuid')
    .addColumn('lab_name', 'text')
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('valid_until', 'timestamptz', (c) => c.notNull())
    .addColumn('search', 'text', (c) =>
      c.generatedAlwaysAs(sql`lower(number || ' ' || holder_name || ' ' || coalesce(holder_name_en, '') || ' ' || product_name)`).stored().notNull(),
    )
    .execute();
  // Keyset order of the register, alone or after one filter.
  await db.schema.createIndex('certificates_issued_idx').on('certificates').columns(['issued_at', 'number']).execute();
  await db.schema.createIndex('certificates_status_idx').on('certificates').columns(['status', 'issued_at', 'number']).execute();
  await db.schema.createIndex('certificates_scheme_idx').on('certificates').columns(['scheme', 'issued_at', 'number']).execute();
  await db.schema.createIndex('certificates_scheme_status_idx').on('certificates').columns(['scheme', 'status', 'issued_at', 'number']).execute();
  // What a rename has to touch.
  await db.schema.createIndex('certificates_holder_idx').on('certificates').column('holder_id').execute();
  await db.schema.createIndex('certificates_product_idx').on('certificates').column('product_id').execute();
  await db.schema.createIndex('certificates_lab_idx').on('certificates').column('lab_id').execute();
  const trgm = await sql<{ ok: number }>`select 1 as ok from pg_extension where extname = 'pg_trgm'`.execute(db);
  if (trgm.rows.length > 0) await sql`create index certificates_search_trgm_idx on certificates using gin (search gin_trgm_ops)`.execute(db);

  await sql`
    create function certificates_from_case() returns trigger language plpgsql as $$
    declare
      cert jsonb := new.record -> 'certificate';
    begin
      if cert is null then return null; end if;
      insert into certificates as c (number, case_id, state, status, scheme, holder_id, holder_name, holder_name_en,
                                     product_id, product_name, product_version, lab_id, lab_name, issued_at, valid_until)
      select cert ->> 'number', new.id, new.state,
             case new.state when 'certified' then 'valid' when 'suspended' then 'suspended'
                            when 'revoked' then 'revoked' when 'expired' then 'expired' end,
             new.application ->> 'scheme', o.id, o.name, o.name_en, p.id, p.name, p.version, l.id, l.name,
             (cert ->> 'issued_at')::timestamptz, (cert ->> 'valid_until')::timestamptz
        from organizations o
        left join products p on p.id = new.product_id
        left join organizations l on l.id = new.lab_id
       where o.id = new.organization_id
      on conflict (case_id) do update
         set state = excluded.state, status = excluded.status, lab_id = excluded.lab_id, lab_name = excluded.lab_name,
             valid_until = excluded.valid_until
       where c.state is distinct from excluded.state or c.lab_id is distinct from excluded.lab_id
          or c.valid_until is distinct from excluded.valid_until;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger cases_certificates after insert or update on cases
    for each row when (new.kind = 'certification-cases') execute function certificates_from_case()`.execute(db);

  await sql`
    create function certificates_from_organization() returns trigger language plpgsql as $$
    begin
      update certificates set holder_name = new.name, holder_name_en = new.name_en where holder_id = new.id;
      update certificates set lab_name = new.name where lab_id = new.id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger organizations_certificates after update of name, name_en on organizations
    for each row when (old.name is distinct from new.name or old.name_en is distinct from new.name_en)
    execute function certificates_from_organization()`.execute(db);

  await sql`
    create function certificates_from_product() returns trigger language plpgsql as $$
    begin
      update certificates set product_name = new.name, product_version = new.version where product_id = new.id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger products_certificates after update of name, version on products
    for each row when (old.name is distinct from new.name or old.version is distinct from new.version)
    execute function certificates_from_product()`.execute(db);

  // Cases certified before this migration (none in a new database): touching them fires the trigger.
  await sql`update cases set record = record where kind = 'certification-cases' and record ? 'certificate'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger products_certificates on products`.execute(db);
  await sql`drop function certificates_from_product()`.execute(db);
  await sql`drop trigger organizations_certificates on organizations`.execute(db);
  await sql`drop function certificates_from_organization()`.execute(db);
  await sql`drop trigger cases_certificates on cases`.execute(db);
  await sql`drop function certificates_from_case()`.execute(db);
  await db.schema.dropTable('certificates').execute();
  // pg_trgm stays: other indexes may come to rely on it.
}
