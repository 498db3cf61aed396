import type { Selectable } from 'kysely';
import type { Db, DbOrTrx, Products } from '../db/types.js';
import { AppError, notFound } from '../errors.js';
import { afterKeyset, decodeKeyset, toPage } from '../paging.js';
import { actorOf, type Principal } from './principals.js';
import { appendRegistryEvent } from '../audit/chains.js';
import { storeAnswer, type KeyedRequest } from '../idempotency.js';

/** A product as stored: the generated table type (migrations/ define the columns). */
type Row = Selectable<Products>;

export const productView = (r: Row) => ({
  id: r.id,
  organization_id: r.organization_id,
  ...r.body,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export async function createProduct(
  db: Db,
  p: Principal,
  input: Record<string, unknown> & { name: string; version: string; kind: string; risk_level: string },
  keyed?: KeyedRequest<ReturnType<typeof productView>>,
) {
  if (!p.organization_id) throw new AppError('forbidden', 'only an applicant of an organization registers products');
  const organizationId = p.organization_id;
  const now = new Date();
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('products')
      .values({
        organization_id: organizationId,
        name: input.name,
        version: input.version,
        kind: input.kind,
        risk_level: input.risk_level,
        body: JSON.stringify(input),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendRegistryEvent(trx, {
      kind: 'product',
      type: 'PRODUCT_CREATED',
      actor: actorOf(p),
      payload: { product_id: row.id, organization_id: organizationId, ...input },
      at: now,
    });
    const view = productView(row);
    await storeAnswer(trx, keyed, view);
    return view;
  });
}

const seesAll = (p: Principal) => p.role === 'regulator';

export async function getProduct(db: DbOrTrx, p: Principal, id: string) {
  const row = await db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('product');
  if (!seesAll(p) && row.organization_id !== p.organization_id) {
    // A lab sees the products of cases it is assigned to.
    const assigned =
      p.role === 'lab' && p.organization_id
        ? await db.selectFrom('cases').select('id').where('product_id', '=', id).where('lab_id', '=', p.organization_id).executeTakeFirst()
        : undefined;
    if (!assigned) throw notFound('product');
  }
  return productView(row);
}

export async function listProducts(
  db: DbOrTrx,
  p: Principal,
  q: { kind?: string; organization_id?: string; limit: number; cursor?: string },
) {
  const after = decodeKeyset(q.cursor);
  let query = db.selectFrom('products').selectAll();
  if (!seesAll(p)) query = query.where('organization_id', '=', p.organization_id ?? '00000000-0000-0000-0000-000000000000');
  if (q.organization_id) query = query.where('organization_id', '=', q.organization_id);
  if (q.kind) query = query.where('kind', '=', q.kind);
  if (after) query = query.where((eb) => afterKeyset(eb, after));
  const rows = await query
    .orderBy('created_at')
    .orderBy('id')
    .limit(q.limit + 1)
    .execute();
  return toPage(rows, q.limit, productView);
}
