import type { DbOrTrx } from '../db/types.js';
import { AppError, notFound } from '../errors.js';
import type { Page } from '../paging.js';

export type SchemeView = {
  code: string;
  title: string;
  title_zh: string | null;
  description: string | null;
  product_kinds: string[];
  standards: string[];
  validity_months: number;
  criteria: Array<{ id: string; title: string; mandatory: boolean }>;
};

const columns = ['code', 'title', 'title_zh', 'description', 'product_kinds', 'standards', 'validity_months', 'criteria'] as const;

const decode = (cursor: string | undefined): string | null => {
  if (cursor === undefined) return null;
  const code = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z0-9-]{1,64}$/.test(code)) throw new AppError('validation_failed', 'cursor is not one this service issued', { errors: [{ path: 'query/cursor', message: 'is not a valid cursor' }] });
  return code;
};

/** Certification schemes by code, optionally only those covering a product kind. */
export async function listSchemes(db: DbOrTrx, q: { product_kind?: string; limit: number; cursor?: string }): Promise<Page<SchemeView>> {
  const after = decode(q.cursor);
  let query = db.selectFrom('schemes').select(columns);
  if (q.product_kind) query = query.where('product_kinds', '@>', JSON.stringify([q.product_kind]) as never);
  if (after) query = query.where('code', '>', after);
  const rows = (await query.orderBy('code').limit(q.limit + 1).execute()) as SchemeView[];
  const items = rows.slice(0, q.limit);
  return { items, next_cursor: rows.length > q.limit ? Buffer.from(items.at(-1)!.code).toString('base64url') : null };
}

export async function getScheme(db: DbOrTrx, code: string): Promise<SchemeView> {
  const row = await db.selectFrom('schemes').select(columns).where('code', '=', code).executeTakeFirst();
  if (!row) throw notFound('scheme');
  return row as SchemeView;
}
