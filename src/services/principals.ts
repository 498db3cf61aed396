import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, DbOrTrx } from '../db/types.js';
import { AppError, notFound, validationFailed } from '../errors.js';
import { appendRegistryEvent, type Actor } from './audit.js';
import { storeAnswer, type KeyedRequest } from './idempotency.js';

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
// clears its cache after commit, so on that instance revocation is immediate; another instance
// (another handle) sees it when its entry expires, within PRINCIPAL_CACHE_TTL_MS.
export const PRINCIPAL_CACHE_TTL_MS = 1000;
const PRINCIPAL_CACHE_MAX = 10_000;
type PrincipalCache = {
  generation: number;
  entries: Map<string, { principal: Principal; until: number }>;
  /** Look-ups under way, so that the requests that find an entry expired at once share one. */
  loading: Map<string, Promise<Principal | null>>;
};
const caches = new WeakMap<object, PrincipalCache>();
const cacheOf = (db: object): PrincipalCache => {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = { generation: 0, entries: new Map(), loading: new Map() }));
  return c;
};

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
      if (!org) throw new AppError('rule_violation', `organization ${orgId} does not exist`, { rule: 'organization_exists' });
      if (input.role === 'lab' && org.kind !== 'lab') {
        throw new AppError('rule_violation', 'a lab principal must belong to an organization of kind lab', { rule: 'lab_organization' });
      }
      if (input.role === 'applicant' && org.kind === 'lab') {
        throw new AppError('rule_violation', 'an applicant principal cannot belong to a lab organization', { rule: 'applicant_organization' });
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

export async function revokePrincipal(db: Db, id: string, actor: Actor): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('principals').select(['id', 'revoked_at']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) throw notFound('principal');
    if (row.revoked_at !== null) return;
    await trx.updateTable('principals').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    await appendRegistryEvent(trx, { kind: 'principal', type: 'PRINCIPAL_REVOKED', actor, payload: { principal_id: id } });
  });
  forgetPrincipals(db);
}

/** ADMIN_TOKEN bootstrap (SPEC §1): that token is an admin's, created or updated. */
export async function ensureAdmin(db: Db, adminToken: string | null): Promise<{ token: string } | null> {
  const system: Actor = { principal_id: null, role: 'system' };
  if (adminToken) {
    const hash = hashToken(adminToken);
    const existing = await db.selectFrom('principals').select(['id', 'role', 'revoked_at']).where('token_hash', '=', hash).executeTakeFirst();
    if (existing && existing.role === 'admin' && existing.revoked_at === null) return null;
    if (existing) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('principals').set({ role: 'admin', organization_id: null, revoked_at: null }).where('id', '=', existing.id).execute();
        await appendRegistryEvent(trx, { kind: 'principal', type: 'PRINCIPAL_BOOTSTRAPPED', actor: system, payload: { principal_id: existing.id } });
      });
      forgetPrincipals(db);
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
