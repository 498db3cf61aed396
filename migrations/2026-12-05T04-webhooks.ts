import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// Notifications by signed webhooks (SPEC §9).
//
// - webhook_endpoints: an organization's receivers (organization_id null: a regulators' endpoint,
//   which hears every case). The signing secret is stored encrypted (AES-256-GCM under a key that is
//   never in the database, SECRETS_KEY_FILE): a dump of the database alone cannot forge a signature.
// - webhook_deliveries: the transactional outbox. A statement trigger on audit_events writes one
//   delivery per matching enabled endpoint in the very statement that appends the event (the engine
//   writes a batch of cases' events in one statement: one trigger call for them all), so an event
//   that rolls back notifies nobody and one that commits has its deliveries, kill -9 included. The
//   body is rebuilt from the audit row (never updated) and the case's number (never changed) on
//   every attempt, so each attempt sends the same bytes. Tenancy is decided here, once: a regulators'
//   endpoint hears every case, an organization's endpoint the cases it applied for and the cases
//   assigned to it as a lab (cases.lab_id, as the statement left it).
// - webhook_attempts: every attempt, with at most 1 KiB of the answer.
// - webhook_reminders: the reminders sent, one per case, deadline, due time and offset, so each goes
//   once and a moved deadline gets its own.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table webhook_endpoints (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid references organizations (id),
      url text not null,
      events text[] not null check (cardinality(events) >= 1),
      description text,
      enabled boolean not null default true,
      secret_ciphertext bytea not null,
      failing_since timestamptz,
      disabled_reason text,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db);
  await sql`create index webhook_endpoints_org_idx on webhook_endpoints (organization_id, created_at, id)`.execute(db);
  await sql`create index webhook_endpoints_enabled_idx on webhook_endpoints (id) where enabled`.execute(db);

  await sql`
    create table webhook_deliveries (
      id uuid primary key default gen_random_uuid(),
      -- The order deliveries were written in (events of one statement share their time).
      seq bigint generated always as identity,
      endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
      audit_id bigint,
      type text not null,
      data jsonb,
      created_at timestamptz not null,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      expires_at timestamptz not null,
      locked_until timestamptz,
      last_attempt_at timestamptz,
      last_status_code integer,
      last_error text,
      delivered_at timestamptz,
      check ((audit_id is null) <> (data is null))
    )`.execute(db);
  // The dispatcher claims the due pending deliveries, oldest first: by when they are due, so a
  // backlog waiting for its retry (an endpoint down for a day) is not walked at every round.
  await sql`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at, seq) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, seq)`.execute(db);

  await sql`
    create table webhook_attempts (
      id bigserial primary key,
      delivery_id uuid not null references webhook_deliveries (id) on delete cascade,
      attempted_at timestamptz not null,
      status_code integer,
      error text,
      duration_ms integer not null,
      response_body text
    )`.execute(db);
  await sql`create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, id)`.execute(db);

  await sql`
    create table webhook_reminders (
      case_id uuid not null,
      deadline text not null,
      due_at timestamptz not null,
      offset_days integer not null,
      sent_at timestamptz not null,
      primary key (case_id, deadline, due_at, offset_days)
    )`.execute(db);

  // Cheap when nobody listens: one probe of a partial index, then nothing.
  await sql`
    create function webhook_enqueue() returns trigger language plpgsql as $$
    begin
      if not exists (select 1 from webhook_endpoints where enabled) then
        return null;
      end if;
      insert into webhook_deliveries (endpoint_id, audit_id, type, created_at, next_attempt_at, expires_at)
      select w.id, i.id, i.kind || '.' || i.type, i.at, i.at, i.at + interval '3 days'
      from inserted i
      join cases c on c.id = i.case_id
      join webhook_endpoints w on w.enabled
        and (w.organization_id is null or w.organization_id = c.organization_id or w.organization_id = c.lab_id)
        and w.events && array['*', i.kind || '.*', i.kind || '.' || i.type]
      where i.case_id is not null
      order by i.id, w.id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger audit_events_webhook_enqueue after insert on audit_events
    referencing new table as inserted for each statement execute function webhook_enqueue()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger audit_events_webhook_enqueue on audit_events`.execute(db);
  await sql`drop function webhook_enqueue()`.execute(db);
  for (const t of ['webhook_reminders', 'webhook_attempts', 'webhook_deliveries', 'webhook_endpoints']) await sql`drop table ${sql.table(t)}`.execute(db);
}
