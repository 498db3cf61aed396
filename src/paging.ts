// Keyset pages: every list answers {items, next_cursor}, the cursor being the last row's sort key.
import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import { AppError } from './errors.js';

export type Page<T> = { items: T[]; next_cursor: string | null };

/** A cursor is a row's sort key as a JSON array in base64url: opaque to clients, checked when it comes back. */
export const encodeCursor = (key: ReadonlyArray<string | number>): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/**
 * The sort key a cursor holds, as `read` makes it from the array (undefined: not a key of this
 * list); anything that is not a cursor this service issued is a 400.
 */
export function decodeCursor<T>(cursor: string | undefined, read: (key: unknown[]) => T | undefined): T | null {
  if (cursor === undefined) return null;
  let key: T | undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    key = Array.isArray(parsed) ? read(parsed) : undefined;
  } catch {
    key = undefined;
  }
  if (key === undefined) throw new AppError('validation_failed', 'cursor is not one this service issued', { errors: [{ path: 'query/cursor', message: 'is not a valid cursor' }] });
  return key;
}

// ---- lists in the order rows were created: (created_at, id) ---------------------------------------

export type Keyset = { at: string; id: string };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function decodeKeyset(cursor: string | undefined): Keyset | null {
  return decodeCursor(cursor, ([at, id]) => {
    const t = typeof at === 'string' ? Date.parse(at) : NaN;
    // A cursor names a row this service wrote: a real UUID and a time within the service's life.
    if (Number.isNaN(t) || t < Date.UTC(2000, 0, 1) || t > Date.UTC(9999, 0, 1) || typeof id !== 'string' || !UUID.test(id)) return undefined;
    return { at: at as string, id };
  });
}

/** Rows after the cursor's in (created_at, id) order; `table` names whose columns when the query joins others. */
export function afterKeyset(eb: ExpressionBuilder<any, any>, after: Keyset, table?: string): Expression<SqlBool> {
  const at = table ? `${table}.created_at` : 'created_at';
  const id = table ? `${table}.id` : 'id';
  return eb.or([eb(at, '>', new Date(after.at)), eb.and([eb(at, '=', new Date(after.at)), eb(id, '>', after.id)])]);
}

/** Rows fetched with limit + 1 become a page; the extra row only says there is more. */
export function toPage<R extends { id: string; created_at: Date }, T>(rows: R[], limit: number, view: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(view), next_cursor: more && last ? encodeCursor([last.created_at.toISOString(), last.id]) : null };
}
