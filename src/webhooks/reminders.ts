// Deadline reminders (SPEC §9): `reminder.<deadline>` 3 days and 1 day before a deadline the
// applicant organization must meet (respond_by, testing_ends_at, valid_until, milestone:<id>), read
// from the deadline rows the engine keeps (the scheduler fires the same rows when they fall due).
// Each goes once per case, deadline, due time and offset (webhook_reminders' key): a deadline moved
// to another time gets its own; several instances queueing at once write one (ON CONFLICT). Each
// offset's reminder goes at the first round within [due − offset, due − the next smaller offset):
// late rather than never after a pause, and never both at once. Every organization's reminders are
// recorded, with its notification (the workbench's inbox tells of them whether or not it has an
// endpoint), and delivered to those of its enabled endpoints that listen: the reminder, its
// notification and its deliveries are written in one transaction.
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import { REMINDER_OFFSETS_DAYS, matches, reminderOf } from './messages.js';

const DAY = 86_400_000;
/** Reminders written per statement (a first round after a pause may find many). */
const CHUNK = 500;

type Due = { case_id: string; name: string; due_at: Date; number: string; kind: string; organization_id: string; days: number };

/**
 * Queues the reminders due now; answers the deliveries queued. Only deadlines whose reminder is not
 * yet recorded are read (an anti-join in the database, on the deadline index a few days ahead): a
 * round costs the deadlines of the next few days, not every case.
 */
export async function queueReminders(db: Db, now: Date): Promise<number> {
  // Each offset's window: [due − offset, due − the next smaller offset).
  const offsets = [...REMINDER_OFFSETS_DAYS].sort((a, b) => b - a);
  const windows = offsets.map((days, i) => ({ days, until: offsets[i + 1] ?? 0 }));
  const horizon = new Date(now.getTime() + offsets[0]! * DAY);
  // The deadlines whose reminder is not yet recorded first (usually none), then their cases: a round
  // reads the deadline index a few days ahead and the reminders' key, not the cases.
  const due = await sql<Due>`
    with x as materialized (
      select d.case_id, d.name, d.due_at, o.days
      from deadlines d
      join jsonb_to_recordset(${JSON.stringify(windows)}::jsonb) as o(days integer, until integer)
        on d.due_at - make_interval(days => o.days) <= ${now} and d.due_at - make_interval(days => o.until) > ${now}
      where d.due_at > ${now} and d.due_at <= ${horizon}
        and (d.name in ('respond_by', 'testing_ends_at', 'valid_until') or d.name like 'milestone:%')
        and not exists (select 1 from webhook_reminders r where r.case_id = d.case_id and r.deadline = d.name and r.due_at = d.due_at and r.offset_days = o.days)
    )
    select x.case_id, x.name, x.due_at, c.number, c.kind, c.organization_id, x.days from x join cases c on c.id = x.case_id`.execute(db);
  let queued = 0;
  for (let i = 0; i < due.rows.length; i += CHUNK) queued += await queueChunk(db, now, due.rows.slice(i, i + CHUNK));
  return queued;
}

async function queueChunk(db: Db, now: Date, rows: Due[]): Promise<number> {
  const orgs = [...new Set(rows.map((f) => f.organization_id))];
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('webhook_reminders')
      .values(rows.map((f) => ({ case_id: f.case_id, deadline: f.name, due_at: new Date(f.due_at), offset_days: f.days, sent_at: now })))
      .onConflict((oc) => oc.doNothing())
      .returning(['case_id', 'deadline', 'due_at', 'offset_days'])
      .execute();
    // Another instance wrote the others first: their notifications and deliveries are its own.
    const key = (caseId: string, deadline: string, dueAt: Date, days: number) => `${caseId} ${deadline} ${new Date(dueAt).getTime()} ${days}`;
    const mine = new Set(inserted.map((r) => key(r.case_id, r.deadline, r.due_at, r.offset_days)));
    const fresh = rows.filter((f) => mine.has(key(f.case_id, f.name, f.due_at, f.days)));
    if (fresh.length === 0) return 0;
    await trx
      .insertInto('notifications')
      .values(fresh.map((f) => ({ organization_id: f.organization_id, type: reminderOf(f.name)!, case_id: f.case_id, deadline: f.name, due_at: new Date(f.due_at), at: now })))
      .execute();
    const endpoints = await trx.selectFrom('webhook_endpoints').select(['id', 'organization_id', 'events']).where('enabled', '=', true).where('organization_id', 'in', orgs).execute();
    const deliveries = fresh.flatMap((f) => {
      const type = reminderOf(f.name)!;
      const data = { case_id: f.case_id, number: f.number, kind: f.kind, deadline: f.name, due_at: new Date(f.due_at).toISOString() };
      return endpoints
        .filter((w) => w.organization_id === f.organization_id && matches(w.events, type))
        .map((w) => ({ endpoint_id: w.id, type, data: JSON.stringify(data), created_at: now, next_attempt_at: now, expires_at: new Date(now.getTime() + 3 * DAY) }));
    });
    if (deliveries.length) await trx.insertInto('webhook_deliveries').values(deliveries).execute();
    return deliveries.length;
  });
}
