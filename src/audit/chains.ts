// The audit chains in the database: reading one in order, and extending the registry's.
import type { DbOrTrx, Trx } from '../db/types.js';
import { GENESIS_HASH, REGISTRY_CHAIN, auditRow, type Actor, type AuditEventBody } from './audit.js';

/**
 * Appends one event to the registry chain (principals, organizations, accreditation). The head
 * row is locked so concurrent writers extend the chain one at a time.
 */
export async function appendRegistryEvent(
  trx: Trx,
  e: { kind: string; type: string; actor: Actor; payload: unknown; at?: Date },
): Promise<void> {
  await trx
    .insertInto('audit_heads')
    .values({ chain_id: REGISTRY_CHAIN, seq: 0, hash: GENESIS_HASH })
    .onConflict((oc) => oc.column('chain_id').doNothing())
    .execute();
  const head = await trx
    .selectFrom('audit_heads')
    .selectAll()
    .where('chain_id', '=', REGISTRY_CHAIN)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const body: AuditEventBody = {
    chain_id: REGISTRY_CHAIN,
    seq: head.seq + 1,
    case_id: null,
    kind: e.kind,
    type: e.type,
    actor: e.actor,
    from_state: null,
    to_state: null,
    payload: e.payload,
    facts: null,
    at: (e.at ?? new Date()).toISOString(),
  };
  const row = auditRow(body, head.hash);
  await trx.insertInto('audit_events').values(row).execute();
  await trx.updateTable('audit_heads').set({ seq: body.seq, hash: row.hash }).where('chain_id', '=', REGISTRY_CHAIN).execute();
}

export async function readChain(db: DbOrTrx, chainId: string) {
  return db.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).orderBy('seq').execute();
}
