// Deadline reminders (SPEC §9): `reminder.<deadline>` 3 days and 1 day before a deadline the
// applicant organization must meet (respond_by, testing_ends_at, valid_until, milestone:<id>), read
// from the deadline rows the engine keeps (the scheduler fires the same rows when they fall due).
// Each goes once per case, deadline, due time and offset (webhook_reminders' key): a deadline moved
// to another time gets its own; several instances queueing at once write one (ON CONFLICT). Each
// offset's reminder goes at the first round within [due − offset, due − the next smaller offset):
// late rather than never after a pause, and never both at once. The reminder and its deliveries are
// written in one transaction. Reminders are recorded for organizations that listen: one that starts
// listening hears those still due of the deadlines ahead.
import { sql } from 'kysely';
import type { Db } from '../db/types.js';
import { REMINDED_DEADLINES, REMINDER_OFFSETS_DAYS, matches, reminderOf } from './messages.js';

const DAY = 86_400_000;

/**
 * Queues the reminders due now. Only deadlines of organizations with an enabled endpoint that hears
 * reminders are looked at, and only those whose reminder is not yet recorded (an anti-join in the
 * database, on the deadline index a few days ahead): a round costs little however many cases run.
 */
export async function queueReminders(db: Db, now: Date): Promise<number> {
  const patterns = ['*', 'reminder.*', ...REMINDED_DEADLINES.map((d) => `reminder.${d}`)];
  const listening = await db.selectFrom('webhook_endpoints').select('organization_id').distinct().where('enabled', '=', true).where('organization_id', 'is not', null).where(sql<boolean>`events && ${patterns}::text[]`).execute();
  if (listening.length === 0) return 0;
  // Each offset's window: [due − offset, due − the next smaller offset).
  const offsets = [...REMINDER_OFFSETS_DAYS].sort((a, b) => b - a);
  const windows = offsets.map((days, i) => ({ days, until: offsets[i + 1] ?? 0 }));
  const horizon = new Date(now.getTime() + offsets[0]! * DAY);
  const due = await sql<{ case_id: string; name: string; due_at: Date; number: string; kind: string; organization_id: string; days: number }>`
    select d.case_id, d.name, d.due_at, c.number, c.kind, c.organization_id, o.days
    from deadlines d
    join cases c on c.id = d.case_id
    join jsonb_to_recordset(${JSON.stringify(windows)}::jsonb) as o(days integer, until integer)
      on d.due_at - make_interval(days => o.days) <= ${now} and d.due_at - make_interval(days => o.until) > ${now}
    where d.due_at > ${now} and d.due_at <= ${horizon}
      and (d.name in ('respond_by', 'testing_ends_at', 'valid_until') or d.name like 'milestone:%')
      and c.organization_id = any(${listening.map((l) => l.organization_id!)}::uuid[])
      and not exists (select 1 from webhook_reminders r where r.case_id = d.case_id and r.deadline = d.name and r.due_at = d.due_at and r.offset_days = o.days)`.execute(db);
  if (due.rows.length === 0) return 0;
  const orgs = [...new Set(due.rows.map((f) => f.organization_id))];
  return db.transaction().execute(async (trx) => {
    const endpoints = await trx.selectFrom('webhook_endpoints').select(['id', 'organization_id', 'events']).where('enabled', '=', true).where('organization_id', 'in', orgs).execute();
    let queued = 0;
    for (const f of due.rows) {
      const dueAt = new Date(f.due_at);
      const inserted = await trx
        .insertInto('webhook_reminders')
        .values({ case_id: f.case_id, deadline: f.name, due_at: dueAt, offset_days: f.days, sent_at: now })
        .onConflict((oc) => oc.doNothing())
        .returning('case_id')
        .executeTakeFirst();
      // Another instance wrote it first: its deliveries are its own.
      if (!inserted) continue;
      const type = reminderOf(f.name)!;
      const data = { case_id: f.case_id, number: f.number, kind: f.kind, deadline: f.name, due_at: dueAt.toISOString() };
      const to = endpoints.filter((w) => w.organization_id === f.organization_id && matches(w.events, type));
      if (to.length === 0) continue;
      await trx
        .insertInto('webhook_deliveries')
        .values(to.map((w) => ({ endpoint_id: w.id, type, data: JSON.stringify(data), created_at: now, next_attempt_at: now, expires_at: new Date(now.getTime() + 3 * DAY) })))
        .execute();
      queued += to.length;
    }
    return queued;
  });
}
