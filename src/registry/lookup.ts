import { sql } from '../db/kysely.js';
import type { Trx } from '../db/types.js';
import type { Accreditation, Lookup } from '../../workflows/kit.js';
import { REGISTRY_CHAIN } from '../audit/audit.js';

/** Allocates the next gap-free number of a series; the row lock is held until the transaction ends. */
export async function nextNumber(trx: Trx, prefix: string, year: number): Promise<string> {
  const row = await trx
    .insertInto('number_sequences')
    .values({ prefix, year, last: 1 })
    .onConflict((oc) => oc.columns(['prefix', 'year']).doUpdateSet({ last: sql`number_sequences.last + 1` }))
    .returning('last')
    .executeTakeFirstOrThrow();
  return `${prefix}-${year}-${String(row.last).padStart(6, '0')}`;
}

/** What workflows may look up, always inside the event's own transaction. */
export function lookupIn(trx: Trx): Lookup {
  return {
    async organization(id) {
      const r = await trx.selectFrom('organizations').select(['id', 'name', 'kind', 'accreditation']).where('id', '=', id).executeTakeFirst();
      return r ? { ...r, accreditation: r.accreditation ?? null } : null;
    },
    // The registry's history, not the organization row: an accreditation is replaced when set again,
    // and only its audit events say what it was before.
    async accreditationAt(organizationId, at) {
      const r = await trx
        .selectFrom('audit_events')
        .select('payload')
        .where('chain_id', '=', REGISTRY_CHAIN)
        .where('type', '=', 'ACCREDITATION_SET')
        .where(sql<string>`payload->>'organization_id'`, '=', organizationId)
        .where('at', '<=', new Date(at))
        .orderBy('at', 'desc')
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!r) return null;
      const p = (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Accreditation;
      return { accreditation_number: p.accreditation_number, schemes: p.schemes, valid_until: p.valid_until };
    },
    async product(id) {
      return (
        (await trx.selectFrom('products').select(['id', 'organization_id', 'kind', 'name', 'version']).where('id', '=', id).executeTakeFirst()) ?? null
      );
    },
    async scheme(code) {
      const r = await trx.selectFrom('schemes').select(['code', 'product_kinds', 'validity_months', 'criteria']).where('code', '=', code).executeTakeFirst();
      return r ?? null;
    },
    nextNumber: (prefix, year) => nextNumber(trx, prefix, year),
  };
}
