// Deadline reminders (SPEC §9): `reminder.<deadline>` 3 days and 1 day before a deadline the
// applicant organization must meet (respond_by, testing_ends_at, valid_until, milestone:<id>), read
// from the deadline rows the engine keeps (the scheduler fires the same rows when they fall due).
// Each goes once per case, deadline, due time and offset (webhook_reminders' key): a deadline moved
// to another time gets its own; several instances queueing at once write one (ON CONFLICT). Each
// offset's reminder goes at the first round within [due − offset, due − the next smaller offset):
// late rather than never after a pause, and never both at once. The reminder and its deliveries are
// written in one transaction.
import { sql } from 'kysely';
import type { Db } from '../db/types.js';
import { REMINDER_OFFSETS_DAYS, matches, reminderOf } from './messages.js';

const DAY = 86_400_000;

export async function queueReminders(db: Db, now: Date): Promise<number> {
  const horizon = new Date(now.getTime() + Math.max(...REMINDER_OFFSETS_DAYS) * DAY);
  // A cheap look first (the deadline index, a few days ahead): most rounds have nothing to remind.
  const due = await db
    .selectFrom('deadlines as d')
    .innerJoin('cases as c', 'c.id', 'd.case_id')
    .select(['d.case_id', 'd.name', 'd.due_at', 'c.number', 'c.kind', 'c.organization_id'])
    .where('d.due_at', '>', now)
    .where('d.due_at', '<=', horizon)
    .where((eb) => eb.or([eb('d.name', 'in', ['respond_by', 'testing_ends_at', 'valid_until']), eb('d.name', 'like', 'milestone:%')]))
    .execute();
  const wanted: Array<{ case_id: string; deadline: string; due_at: Date; offset_days: number; row: (typeof due)[number] }> = [];
  for (const row of due) {
    const left = row.due_at.getTime() - now.getTime();
    // The offset whose window [due − offset, due − next smaller offset) holds now.
    const offsets = [...REMINDER_OFFSETS_DAYS].sort((a, b) => b - a);
    const i = offsets.findIndex((o, k) => left <= o * DAY && (k === offsets.length - 1 || left > offsets[k + 1]! * DAY));
    if (i >= 0) wanted.push({ case_id: row.case_id, deadline: row.name, due_at: row.due_at, offset_days: offsets[i]!, row });
  }
  if (wanted.length === 0) return 0;
  const seen = await db
    .selectFrom('webhook_reminders')
    .select(['case_id', 'deadline', 'due_at', 'offset_days'])
    .where(sql<boolean>`(case_id, deadline, due_at, offset_days) in (select * from jsonb_to_recordset(${JSON.stringify(wanted.map(({ row: _, ...w }) => w))}::jsonb) as x(case_id uuid, deadline text, due_at timestamptz, offset_days integer))`)
    .execute();
  const key = (r: { case_id: string; deadline: string; due_at: Date; offset_days: number }) => `${r.case_id}|${r.deadline}|${new Date(r.due_at).getTime()}|${r.offset_days}`;
  const sent = new Set(seen.map(key));
  const fresh = wanted.filter((w) => !sent.has(key(w)));
  if (fresh.length === 0) return 0;
  const orgs = [...new Set(fresh.map((f) => f.row.organization_id))];
  return db.transaction().execute(async (trx) => {
    const endpoints = await trx.selectFrom('webhook_endpoints').select(['id', 'organization_id', 'events']).where('enabled', '=', true).where('organization_id', 'in', orgs).execute();
    let queued = 0;
    for (const f of fresh) {
      const inserted = await trx
        .insertInto('webhook_reminders')
        .values({ case_id: f.case_id, deadline: f.deadline, due_at: f.due_at, offset_days: f.offset_days, sent_at: now })
        .onConflict((oc) => oc.doNothing())
        .returning('case_id')
        .executeTakeFirst();
      // Another instance wrote it first: its deliveries are its own.
      if (!inserted) continue;
      const type = reminderOf(f.deadline)!;
      const data = { case_id: f.case_id, number: f.row.number, kind: f.row.kind, deadline: f.deadline, due_at: f.due_at.toISOString() };
      const to = endpoints.filter((w) => w.organization_id === f.row.organization_id && matches(w.events, type));
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
