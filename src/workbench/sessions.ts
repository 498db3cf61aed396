// Workbench sessions (SPEC §6): an opaque random id in the browser's cookie, its SHA-256 in the
// database, alive for 8 hours after the last request and only while its principal is not revoked.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { fastifyCookie } from '@fastify/cookie';
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import type { Principal, Role } from '../registry/principals.js';
import { WB_CSS_PATH } from './layout.js';

export const IDLE_MS = 8 * 60 * 60 * 1000;
export const SESSION_COOKIE = 'wb_session';
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex');

export type Session = { idHash: string; principal: Principal };

/** A new session for the principal; answers the id for the cookie (never stored). Expired sessions are swept on the way. */
export async function startSession(db: Db, principal: Principal, now: Date): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  await db.deleteFrom('workbench_sessions').where('expires_at', '<=', now).execute();
  await db
    .insertInto('workbench_sessions')
    .values({ id_hash: hashSessionId(id), principal_id: principal.id, created_at: now, last_seen_at: now, expires_at: new Date(now.getTime() + IDLE_MS) })
    .execute();
  return id;
}

/**
 * The live session a cookie names, its idle expiry moved on, with its principal read in the same
 * statement: a revoked principal (whichever instance revoked it) or an expired session is no
 * session, and its row is removed.
 */
export async function resumeSession(db: Db, cookie: string | undefined, now: Date): Promise<Session | null> {
  if (!cookie || !SESSION_ID.test(cookie)) return null;
  const idHash = hashSessionId(cookie);
  const { rows } = await sql<{ id: string; role: string; organization_id: string | null; name: string | null }>`
    update workbench_sessions s set last_seen_at = ${now}, expires_at = ${new Date(now.getTime() + IDLE_MS)}
      from principals p
     where s.id_hash = ${idHash} and s.expires_at > ${now} and p.id = s.principal_id and p.revoked_at is null
    returning p.id, p.role, p.organization_id, p.name`.execute(db);
  const p = rows[0];
  if (!p) {
    await db.deleteFrom('workbench_sessions').where('id_hash', '=', idHash).execute();
    return null;
  }
  return { idHash, principal: { id: p.id, role: p.role as Role, organization_id: p.organization_id, name: p.name } };
}

/** Ends a session (sign-out): its row is deleted, so the cookie is worthless wherever it is kept. */
export async function endSession(db: Db, idHash: string): Promise<void> {
  await db.deleteFrom('workbench_sessions').where('id_hash', '=', idHash).execute();
}

/** A cookie's value in a Cookie header, read by @fastify/cookie's own parser (the rate limiter runs before that plugin has). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  return header ? fastifyCookie.parse(header)[name] : undefined;
}

const resumed = new WeakMap<FastifyRequest, Promise<Session | null>>();

/**
 * The live session of a workbench request (null elsewhere, and for the stylesheet), resumed once
 * per request: the rate limiter keys by its principal, and the workbench's own hook then uses the
 * same answer instead of a second look-up.
 */
export function requestSession(db: Db, request: FastifyRequest, now: () => Date): Promise<Session | null> {
  let s = resumed.get(request);
  if (!s) {
    const workbench = /^\/workbench(?:[/?]|$)/.test(request.url) && !request.url.startsWith(WB_CSS_PATH);
    s = workbench ? resumeSession(db, cookieValue(request.headers.cookie, SESSION_COOKIE), now()) : Promise.resolve(null);
    resumed.set(request, s);
  }
  return s;
}
