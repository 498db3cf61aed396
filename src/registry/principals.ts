import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from '../db/kysely.js';
import type { Db, DbOrTrx } from '../db/types.js';
import { AppError, notFound, ruleViolation, validationFailed } from '../errors.js';
import { l } from '../../workflows/kit.js';
import type { Actor } from '../audit/audit.js';
import { appendRegistryEvent } from '../audit/chains.js';
import { storeAnswer, type KeyedRequest } from '../idempotency.js';

export const ROLES = ['admin', 'regulator', 'lab', 'applicant'] as const;
export type Role = (typeof ROLES)[number];
export type Principal = { id: string; role: Role; organization_id: string | null; name: string | null };

export function newToken(): string {
  return `gdai_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Looks a bearer token up by its hash; the stored hash is compared again in constant time. */
export async function principalForToken(db: DbOrTrx, token: string): Promise<Principal | null> {
  const hash = hashToken(token);
  const row = await db
    .selectFrom('principals')
    .select(['id', 'role', 'organization_id', 'name', 'token_hash', 'revoked_at'])
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) return null;
  const a = Buffer.from(row.token_hash, 'hex');
  const b = Buffer.from(hash, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
  return { id: row.id, role: row.role as Role, organization_id: row.organization_id, name: row.name };
}

// Principals recently authenticated, per database handle (an instance): a busy client then costs
// one look-up per TTL instead of one per request. Revoking or re-bootstrapping through a handle
// clears its cache after commit. On PostgreSQL every other instance is told too, and the revocation
// is not answered until each has dropped its copy or can no longer trust it: see
// principal-notifications.ts, which guards the app's handle. A handle nobody guards (the embedded
// database, one process; a test's own handle) trusts its entries for PRINCIPAL_CACHE_TTL_MS.
export const PRINCIPAL_CACHE_TTL_MS = 1000;
const PRINCIPAL_CACHE_MAX = 10_000;
type PrincipalCache = {
  generation: number;
  entries: Map<string, { principal: Principal; until: number }>;
  /** Look-ups under way, so that the requests that find an entry expired at once share one. */
  loading: Map<string, Promise<Principal | null>>;
  /** Whether the cache may answer now; null: always (nobody guards this handle). */
  trusted: (() => boolean) | null;
};
const caches = new WeakMap<object, PrincipalCache>();
const cacheOf = (db: object): PrincipalCache => {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = { generation: 0, entries: new Map(), loading: new Map(), trusted: null }));
  return c;
};

/**
 * From now on the handle's cache answers only while `trusted()` says so; otherwise every request
 * reads the database, shares no look-up and caches nothing it could be answered from. Answers a
 * function that lifts the guard.
 */
export function guardPrincipalCache(db: object, trusted: () => boolean): () => void {
  const c = cacheOf(db);
  c.trusted = trusted;
  return () => {
    if (c.trusted === trusted) c.trusted = null;
  };
}

const forgetListeners = new Set<() => void>();

/**
 * Called whenever this process forgets its principals because a revocation or role change committed
 * here: worker processes of one service (src/cluster.ts) pass the word on to their siblings.
 */
export function onPrincipalsChanged(listener: () => void): () => void {
  forgetListeners.add(listener);
  return () => forgetListeners.delete(listener);
}

/**
 * Forgets every cached principal of this handle (after a revocation or a role change commits);
 * `relayed` when the change committed in another process, which has told the others already.
 */
export function forgetPrincipals(db: object, opts: { relayed?: boolean } = {}): void {
  const c = cacheOf(db);
  c.generation++;
  c.entries.clear();
  c.loading.clear();
  if (!opts.relayed) for (const listener of forgetListeners) listener();
}

/** principalForToken behind the per-handle cache; unknown and revoked tokens are never cached. */
export async function authenticate(db: Db, token: string): Promise<Principal | null> {
  const c = cacheOf(db);
  if (c.trusted && !c.trusted()) return principalForToken(db, token);
  const key = hashToken(token);
  const hit = c.entries.get(key);
  const now = Date.now();
  if (hit && hit.until > now) return hit.principal;
  if (hit) c.entries.delete(key);
  const generation = c.generation;
  // A look-up begun before a revocation committed is not shared with requests after it: forgetting clears `loading`.
  const pending = c.loading.get(key);
  if (pending) return pending;
  const promise = principalForToken(db, token).then(
    (principal) => {
      if (c.loading.get(key) === promise) c.loading.delete(key);
      // A revocation that committed while we read must not be undone by caching what we read.
      if (principal && c.generation === generation) {
        if (c.entries.size >= PRINCIPAL_CACHE_MAX) c.entries.clear();
        c.entries.set(key, { principal, until: now + PRINCIPAL_CACHE_TTL_MS });
      }
      return principal;
    },
    (err: unknown) => {
      if (c.loading.get(key) === promise) c.loading.delete(key);
      throw err;
    },
  );
  c.loading.set(key, promise);
  return promise;
}

export const actorOf = (p: Principal): Actor => ({ principal_id: p.id, role: p.role });

export async function createPrincipal(
  db: Db,
  input: { role: Role; organization_id?: string | null; name?: string | null },
  actor: Actor,
  token = newToken(),
  keyed?: KeyedRequest<Principal & { token: string }>,
): Promise<Principal & { token: string }> {
  const orgId = input.organization_id ?? null;
  if ((input.role === 'lab' || input.role === 'applicant') && !orgId) {
    throw validationFailed([{ path: 'body/organization_id', message: `is required for role ${input.role}` }]);
  }
  if ((input.role === 'admin' || input.role === 'regulator') && orgId) {
    throw validationFailed([{ path: 'body/organization_id', message: `must not be given for role ${input.role}` }]);
  }
  return db.transaction().execute(async (trx) => {
    if (orgId) {
      const org = await trx.selectFrom('organizations').select(['id', 'kind']).where('id', '=', orgId).executeTakeFirst();
      if (!org) throw ruleViolation('organization_exists', l(`organization ${orgId} does not exist`, `机构 ${orgId} 不存在`));
      if (input.role === 'lab' && org.kind !== 'lab') {
        throw ruleViolation('lab_organization', l('a lab principal must belong to an organization of kind lab', '检测实验室的用户须属于检测实验室类机构'));
      }
      if (input.role === 'applicant' && org.kind === 'lab') {
        throw ruleViolation('applicant_organization', l('an applicant principal cannot belong to a lab organization', '申请人用户不能属于检测实验室类机构'));
      }
    }
    const row = await trx
      .insertInto('principals')
      .values({ role: input.role, organization_id: orgId, name: input.name ?? null, token_hash: hashToken(token) })
      .returning(['id', 'role', 'organization_id', 'name'])
      .executeTakeFirstOrThrow();
    await appendRegistryEvent(trx, {
      kind: 'principal',
      type: 'PRINCIPAL_CREATED',
      actor,
      payload: { principal_id: row.id, role: row.role, organization_id: row.organization_id, name: row.name },
    });
    const created = { ...(row as Principal), token };
    await storeAnswer(trx, keyed, created);
    return created;
  });
}

/** The generation of principals now: each change to the table counts one (a trigger, at commit). */
const principalsGeneration = async (db: DbOrTrx): Promise<string> =>
  (await sql<{ generation: string }>`select generation::text as generation from principal_cache_generation`.execute(db)).rows[0]!.generation;

/**
 * Returns once every instance that may still trust its principal cache has dropped the principals it
 * cached before `generation` (it says so in principal_cache_instances when its listener hears of
 * it); an instance that does not answer is waited for until its lease runs out, when it stops
 * trusting its cache by itself. An instance's lease is at most PRINCIPAL_CACHE_LEASE_MS long, so
 * past that and a grace nobody has failed to answer but an instance that keeps renewing its lease
 * without acknowledging, which is a fault: the change is stored, and the caller is told to retry.
 */
export const PRINCIPAL_CACHE_LEASE_MS = 5000;
export async function awaitPrincipalCaches(db: Db, generation: string): Promise<void> {
  const giveUp = Date.now() + PRINCIPAL_CACHE_LEASE_MS + 5000;
  for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
    const { rows } = await sql<{ waiting: number }>`
      select count(*)::int as waiting from principal_cache_instances where acked < ${generation}::bigint and lease_until > now()`.execute(db);
    if (rows[0]!.waiting === 0) return;
    if (Date.now() > giveUp) {
      throw new AppError('unavailable', `the change is stored, but ${rows[0]!.waiting} instance(s) of the service have not confirmed it; retry the request`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * The 204 means that no instance accepts the token any more: it is sent only once every instance
 * has dropped it (awaitPrincipalCaches). A retry of a revocation whose answer was lost waits too.
 */
export async function revokePrincipal(db: Db, id: string, actor: Actor): Promise<void> {
  const generation = await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('principals').select(['id', 'revoked_at']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) throw notFound('principal');
    if (row.revoked_at === null) {
      await trx.updateTable('principals').set({ revoked_at: new Date() }).where('id', '=', id).execute();
      await appendRegistryEvent(trx, { kind: 'principal', type: 'PRINCIPAL_REVOKED', actor, payload: { principal_id: id } });
    }
    return principalsGeneration(trx);
  });
  forgetPrincipals(db);
  await awaitPrincipalCaches(db, generation);
}

/** ADMIN_TOKEN bootstrap (SPEC §1): that token is an admin's, created or updated. */
export async function ensureAdmin(db: Db, adminToken: string | null): Promise<{ token: string } | null> {
  const system: Actor = { principal_id: null, role: 'system' };
  if (adminToken) {
    const hash = hashToken(adminToken);
    const existing = await db.selectFrom('principals').select(['id', 'role', 'revoked_at']).where('token_hash', '=', hash).executeTakeFirst();
    if (existing && existing.role === 'admin' && existing.revoked_at === null) return null;
    if (existing) {
      const generation = await db.transaction().execute(async (trx) => {
        await trx.updateTable('principals').set({ role: 'admin', organization_id: null, revoked_at: null }).where('id', '=', existing.id).execute();
        await appendRegistryEvent(trx, { kind: 'principal', type: 'PRINCIPAL_BOOTSTRAPPED', actor: system, payload: { principal_id: existing.id } });
        return principalsGeneration(trx);
      });
      forgetPrincipals(db);
      // The token's old role may be cached elsewhere.
      await awaitPrincipalCaches(db, generation);
      return null;
    }
    try {
      await createPrincipal(db, { role: 'admin', name: 'bootstrap admin (ADMIN_TOKEN)' }, system, adminToken);
    } catch (err) {
      // Another instance starting at the same moment inserted it first.
      if (!String((err as Error).message).includes('duplicate key')) throw err;
    }
    return null;
  }
  const any = await db.selectFrom('principals').select('id').limit(1).executeTakeFirst();
  if (any) return null;
  const created = await createPrincipal(db, { role: 'admin', name: 'bootstrap admin' }, system);
  return { token: created.token };
}
