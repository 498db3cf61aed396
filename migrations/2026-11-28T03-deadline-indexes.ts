import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The scheduler claims due deadlines in (due_at, case_id, name) order. With only due_at indexed,
// many deadlines falling due at the same instant (a batch of admissions starting testing at one
// date) had to be joined and sorted in full for every batch of 50: 0.7 s a batch at 100,000 due.
// This index gives the order directly; it replaces the due_at one, whose queries it also serves.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index deadlines_due_order_idx on deadlines (due_at, case_id, name)`.execute(db);
  await sql`drop index deadlines_due_idx`.execute(db);
  // Every sweep counts the deadlines waiting for a retry (the scheduler's status); a partial index
  // over just those rows keeps that count from reading the whole table as deadlines pile up.
  await sql`create index deadlines_failing_idx on deadlines (case_id) where last_error is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index deadlines_failing_idx`.execute(db);
  await sql`create index deadlines_due_idx on deadlines (due_at)`.execute(db);
  await sql`drop index deadlines_due_order_idx`.execute(db);
}
