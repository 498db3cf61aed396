import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// CERTIFY asks which accreditation a lab held when it tested (SPEC §3.2): the last ACCREDITATION_SET
// of that organization at or before a time. Those events are a sliver of the registry chain, which
// grows with every principal, organization and product; without this index each CERTIFY would walk
// the chain backwards to the lab's last accreditation.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index audit_events_accreditation_idx on audit_events ((payload->>'organization_id'), at)
    where chain_id = 'registry' and type = 'ACCREDITATION_SET'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index audit_events_accreditation_idx`.execute(db);
}
