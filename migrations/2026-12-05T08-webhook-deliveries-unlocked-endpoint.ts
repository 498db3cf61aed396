import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The outbox's rows no longer hold a foreign key to their endpoint. With the key, every statement
// that appended audit events took a FOR KEY SHARE lock on the row of each endpoint it notified; with
// one regulators' endpoint hearing every event, every concurrent transition locked that one row, and
// PostgreSQL records a row share-locked by several transactions at once as a MultiXact: measured
// with one endpoint subscribed to every event (benchmark 10), a service with its dispatcher off wrote
// transitions at 936 events/s with the key against 1,971 without it, on a machine doing 3,276/s with
// no endpoint at all.
//
// What the key did is done otherwise: the trigger only writes deliveries for endpoints it sees
// enabled; deleting an endpoint deletes its deliveries in the same transaction
// (src/webhooks/endpoints.ts); a delivery written by a transition that raced that delete (it saw the
// endpoint, committed after it) is never claimed (the dispatcher joins the endpoint) and is removed by
// the dispatcher's housekeeping (src/webhooks/dispatcher.ts, sweepOrphans).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table webhook_deliveries drop constraint webhook_deliveries_endpoint_id_fkey`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from webhook_deliveries d where not exists (select 1 from webhook_endpoints w where w.id = d.endpoint_id)`.execute(db);
  await sql`alter table webhook_deliveries add constraint webhook_deliveries_endpoint_id_fkey foreign key (endpoint_id) references webhook_endpoints (id) on delete cascade`.execute(db);
}
