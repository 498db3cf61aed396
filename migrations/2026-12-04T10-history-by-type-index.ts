import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// What accumulates in a case (reports, incidents, retest rounds, surveillance findings, status
// changes, …) is read from its history, by type: GET /v1/:kind/:id/events?type=SUBMIT_REPORT and the
// public certificate's status history. This index answers those in seq order without reading the
// case's other events; the unfiltered history uses audit_events_chain_seq_key.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index audit_events_chain_type_seq_idx on audit_events (chain_id, type, seq)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index audit_events_chain_type_seq_idx`.execute(db);
}
