import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The workbench's notifications (SPEC §9, last bullet): each person sees what their organization's
// webhooks would carry, whether or not it has an endpoint, unread first.
//
// - notifications: one row per audience and thing told of, the audience being an organization or,
//   with organization_id null, the regulators. A statement trigger on audit_events writes a case
//   event's rows in the statement that appends it, with the webhooks' tenancy (their trigger, in
//   2026-12-05T04): the regulators, the organization that applied and the lab assigned, as the
//   statement left cases.lab_id (a lab hears a case from its assignment on, and no more once it has
//   declined). A WEBHOOK_DISABLED registry event goes to the endpoint's organization (null: the
//   regulators'). Reminders are written by the reminder round (src/webhooks/reminders.ts) beside
//   webhook_reminders. Rows are written at the time of the thing told of, so a feed read newest
//   first is read by id, on (organization_id, id), however many cases and events there are. No
//   foreign keys, as for audit rows: a notification outlives nothing it tells of, and the trigger
//   pays for no lookups. Events before this migration are not told of: the inbox is news, and each
//   case's history keeps the rest.
// - notification_read_up_to: a person's "read up to" watermark (mark all read), and
//   notification_read_marks: the notifications after it read one by one; marks at or below the
//   watermark are deleted when it moves, so they stay few. Unread = after the watermark and not
//   marked: both are read with the primary keys, so the unread section, and a count capped by the
//   workbench, cost the unread rows, not the history.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table notifications (
      id bigint generated always as identity primary key,
      organization_id uuid,
      type text not null,
      audit_id bigint,
      case_id uuid,
      actor_principal_id uuid,
      deadline text,
      due_at timestamptz,
      at timestamptz not null,
      check ((audit_id is null) <> (deadline is null)),
      check ((deadline is null) = (due_at is null))
    )`.execute(db);
  // A feed, newest first: the regulators' one is organization_id is null, which a btree serves too.
  await sql`create index notifications_audience_idx on notifications (organization_id, id)`.execute(db);

  await sql`
    create table notification_read_up_to (
      principal_id uuid primary key references principals (id),
      read_up_to bigint not null
    )`.execute(db);
  await sql`
    create table notification_read_marks (
      principal_id uuid not null references principals (id),
      notification_id bigint not null references notifications (id),
      primary key (principal_id, notification_id)
    )`.execute(db);

  // Rows in the order of the events (the feed's order), the regulators' first.
  await sql`
    create function notifications_fan_out() returns trigger language plpgsql as $$
    begin
      insert into notifications (organization_id, type, audit_id, case_id, actor_principal_id, at)
      select x.organization_id, x.type, x.audit_id, x.case_id, x.actor_principal_id, x.at from (
        select r.organization_id, i.kind || '.' || i.type as type, i.id as audit_id, i.case_id, i.actor_principal_id, i.at, r.n
        from inserted i
        join cases c on c.id = i.case_id
        cross join lateral (
          select null::uuid, 0
          union all select c.organization_id, 1
          union all select c.lab_id, 2 where c.lab_id is not null and c.lab_id <> c.organization_id
        ) r(organization_id, n)
        where i.case_id is not null
        union all
        select (i.payload->>'organization_id')::uuid, i.kind || '.' || i.type, i.id, null, i.actor_principal_id, i.at, 0
        from inserted i
        where i.case_id is null and i.kind = 'webhook' and i.type = 'WEBHOOK_DISABLED'
      ) x
      order by x.audit_id, x.n;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger audit_events_notifications after insert on audit_events
    referencing new table as inserted for each statement execute function notifications_fan_out()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger audit_events_notifications on audit_events`.execute(db);
  await sql`drop function notifications_fan_out()`.execute(db);
  for (const t of ['notification_read_marks', 'notification_read_up_to', 'notifications']) await sql`drop table ${sql.table(t)}`.execute(db);
}
