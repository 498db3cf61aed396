import type { DbOrTrx } from '../db/types.js';
import { notFound } from '../errors.js';
import { decodeCursor, encodeCursor, type Page } from '../paging.js';

export type SchemeView = {
  code: string;
  title: string;
  title_zh: string | null;
  description: string | null;
  product_kinds: string[];
  standards: string[];
  validity_months: number;
  criteria: Criterion[];
};

/** A criterion of a scheme; `title_zh` is null where it has no Chinese title. */
export type Criterion = { id: string; title: string; title_zh: string | null; mandatory: boolean };

/** A row as served: every criterion carries `title_zh`, null where the data has none. */
const view = (row: unknown): SchemeView => {
  const s = row as SchemeView;
  return { ...s, criteria: s.criteria.map((c) => ({ id: c.id, title: c.title, title_zh: c.title_zh ?? null, mandatory: c.mandatory })) };
};

const columns = ['code', 'title', 'title_zh', 'description', 'product_kinds', 'standards', 'validity_months', 'criteria'] as const;

const CODE = /^[a-z0-9-]{1,64}$/;

const decode = (cursor: string | undefined): string | null => {
  // A cursor issued before the lists shared one encoder held the bare code.
  const bare = cursor === undefined ? '' : Buffer.from(cursor, 'base64url').toString('utf8');
  if (CODE.test(bare)) return bare;
  return decodeCursor(cursor, (v) => (v.length === 1 && typeof v[0] === 'string' && CODE.test(v[0]) ? v[0] : undefined));
};

/** Certification schemes by code, optionally only those covering a product kind. */
export async function listSchemes(db: DbOrTrx, q: { product_kind?: string; limit: number; cursor?: string }): Promise<Page<SchemeView>> {
  const after = decode(q.cursor);
  let query = db.selectFrom('schemes').select(columns);
  if (q.product_kind) query = query.where('product_kinds', '@>', JSON.stringify([q.product_kind]) as never);
  if (after) query = query.where('code', '>', after);
  const rows = (await query.orderBy('code').limit(q.limit + 1).execute()).map(view);
  const items = rows.slice(0, q.limit);
  return { items, next_cursor: rows.length > q.limit ? encodeCursor([items.at(-1)!.code]) : null };
}

export async function getScheme(db: DbOrTrx, code: string): Promise<SchemeView> {
  const row = await db.selectFrom('schemes').select(columns).where('code', '=', code).executeTakeFirst();
  if (!row) throw notFound('scheme');
  return view(row);
}
