// Idempotency-Key answers written by the transaction that does the request's work (SPEC §2): the
// key, its answer and the work commit together or not at all, so a retry after a crash at any
// moment either finds the answer or finds nothing done.
import type { Trx } from './db/types.js';
import { AppError } from './errors.js';

export type StoredAnswer = { status: number; headers: Record<string, string>; body: string };

/** A request's Idempotency-Key, and the answer its result becomes (what the route will send). */
export type KeyedRequest<T> = {
  principalId: string;
  key: string;
  method: string;
  path: string;
  hash: string;
  answer: (result: T) => StoredAnswer;
};

export const keyInFlight = () => new AppError('conflict', 'a request with this Idempotency-Key is being processed; retry shortly');

/**
 * The key's primary key refused the row: a request with the same key committed while this one
 * worked (PostgreSQL makes the second insert wait for the first's commit, then fail).
 */
export function isKeyTaken(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  return e?.code === '23505' && (e.constraint === 'idempotency_keys_pk' || String(e.message).includes('idempotency_keys_pk'));
}

/** The idempotency_keys row of a finished request (created_at is the database's now()). */
export function keyRow<T>(keyed: KeyedRequest<T>, result: T) {
  const a = keyed.answer(result);
  return {
    principal_id: keyed.principalId,
    key: keyed.key,
    method: keyed.method,
    path: keyed.path,
    request_hash: keyed.hash,
    status: a.status,
    headers: JSON.stringify(a.headers),
    body: a.body,
  };
}

/** Stores the answer in the work's transaction; a key taken meanwhile rolls the work back as a 409. */
export async function storeAnswer<T>(trx: Trx, keyed: KeyedRequest<T> | undefined, result: T): Promise<void> {
  if (!keyed) return;
  try {
    await trx.insertInto('idempotency_keys').values(keyRow(keyed, result)).execute();
  } catch (err) {
    throw isKeyTaken(err) ? keyInFlight() : err;
  }
}
