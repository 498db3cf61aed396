import { sql } from 'kysely';
import type { Trx } from '../db/types.js';
import type { Lookup } from '../../workflows/kit.js';

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
