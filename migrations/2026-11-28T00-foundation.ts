import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// Frozen: never edit once landed; a change is a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_en', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('credit_code', 'text')
    .addColumn('registration_number', 'text')
    .addColumn('contact_email', 'text', (c) => c.notNull())
    .addColumn('accreditation', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // A mainland organization is registered once: its credit code identifies it.
  await sql`create unique index organizations_credit_code_key on organizations (credit_code) where credit_code is not null`.execute(db);
  await db.schema.createIndex('organizations_created_idx').on('organizations').columns(['created_at', 'id']).execute();

  await db.schema
    .createTable('principals')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('organization_id', 'uuid', (c) => c.references('organizations.id'))
    .addColumn('name', 'text')
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('products')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('risk_level', 'text', (c) => c.notNull())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('products_org_idx').on('products').columns(['organization_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('products_created_idx').on('products').columns(['created_at', 'id']).execute();

  await db.schema
    .createTable('cases')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('product_id', 'uuid', (c) => c.references('products.id'))
    // the lab organization currently involved (assigned or evaluating), so lab visibility is one indexed filter
    .addColumn('lab_id', 'uuid', (c) => c.references('organizations.id'))
    .addColumn('application', 'jsonb', (c) => c.notNull())
    .addColumn('record', 'jsonb', (c) => c.notNull())
    .addColumn('deadlines', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    // head of this case's audit hash chain, kept on the row so an event needs no extra read
    .addColumn('audit_seq', 'integer', (c) => c.notNull())
    .addColumn('audit_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cases_kind_created_idx').on('cases').columns(['kind', 'created_at', 'id']).execute();
  await db.schema.createIndex('cases_kind_org_idx').on('cases').columns(['kind', 'organization_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('cases_kind_lab_idx').on('cases').columns(['kind', 'lab_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('cases_kind_state_idx').on('cases').columns(['kind', 'state', 'created_at', 'id']).execute();
  await db.schema.createIndex('cases_product_idx').on('cases').columns(['product_id']).execute();

  // Gap-free human-readable numbers: the row lock held until commit serialises allocation.
  await db.schema
    .createTable('number_sequences')
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('year', 'integer', (c) => c.notNull())
    .addColumn('last', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('number_sequences_pk', ['prefix', 'year'])
    .execute();

  // Append-only. No foreign keys: audit rows outlive what they describe.
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('chain_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('case_id', 'uuid')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_principal_id', 'uuid')
    .addColumn('actor_role', 'text', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('facts', 'jsonb')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addUniqueConstraint('audit_events_chain_seq_key', ['chain_id', 'seq'])
    .execute();
  await db.schema.createIndex('audit_events_case_idx').on('audit_events').columns(['case_id', 'seq']).execute();

  // Heads of chains that are not cases (the registry chain: principals, organizations, accreditation).
  await db.schema
    .createTable('audit_heads')
    .addColumn('chain_id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();

  await sql`
    create function audit_events_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % refused', tg_op using errcode = '42501';
    end $$`.execute(db);
  await sql`
    create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function audit_events_refuse_change()`.execute(db);

  await db.schema
    .createTable('deadlines')
    .addColumn('case_id', 'uuid', (c) => c.notNull().references('cases.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'timestamptz')
    .addPrimaryKeyConstraint('deadlines_pk', ['case_id', 'name'])
    .execute();
  await db.schema.createIndex('deadlines_due_idx').on('deadlines').columns(['due_at']).execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('principal_id', 'uuid', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('headers', 'jsonb', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['principal_id', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').columns(['created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['idempotency_keys', 'deadlines']) await db.schema.dropTable(t).execute();
  await sql`drop trigger audit_events_append_only on audit_events`.execute(db);
  await sql`drop function audit_events_refuse_change()`.execute(db);
  for (const t of ['audit_heads', 'audit_events', 'number_sequences', 'cases', 'products', 'principals', 'organizations']) {
    await db.schema.dropTable(t).execute();
  }
}
