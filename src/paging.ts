import { AppError } from './errors.js';

export type Page<T> = { items: T[]; next_cursor: string | null };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Keyset = { at: string; id: string };

export function encodeCursor(k: Keyset): string {
  return Buffer.from(JSON.stringify([k.at, k.id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Keyset | null {
  if (cursor === undefined) return null;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const t = typeof at === 'string' ? Date.parse(at) : NaN;
    // A cursor names a row this service wrote: a real UUID and a time within the service's life.
    if (Number.isNaN(t) || t < Date.UTC(2000, 0, 1) || t > Date.UTC(9999, 0, 1) || typeof id !== 'string' || !UUID.test(id)) throw new Error();
    return { at, id };
  } catch {
    throw new AppError('validation_failed', 'cursor is not one this service issued', { errors: [{ path: 'query/cursor', message: 'is not a valid cursor' }] });
  }
}

/** Rows fetched with limit + 1 become a page; the extra row only says there is more. */
export function toPage<R extends { id: string; created_at: Date }, T>(rows: R[], limit: number, view: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(view), next_cursor: more && last ? encodeCursor({ at: last.created_at.toISOString(), id: last.id }) : null };
}
