import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { authenticate, type Principal, type Role } from '../../registry/principals.js';
import type { Caller } from '../../engine/caller.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route: absent = public; [] = any principal; else these roles. */
    roles?: Role[];
  }
}

// The syntax of a bearer token; anything else is not a token. The scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]{16,512})$/i;
const bearers = new WeakMap<FastifyRequest, Promise<Principal | null>>();

/**
 * The principal of the request's bearer token (null: no token, not a token, unknown or revoked),
 * looked up once per request: the rate limiter keys by it and the auth hook then uses it.
 */
export function bearerPrincipal(app: { db: Parameters<typeof authenticate>[0] }, request: FastifyRequest): Promise<Principal | null> {
  let p = bearers.get(request);
  if (!p) {
    const m = BEARER.exec(request.headers.authorization ?? '');
    p = m ? authenticate(app.db, m[1]!) : Promise.resolve(null);
    bearers.set(request, p);
  }
  return p;
}

/**
 * Resolves `Authorization: Bearer <token>` to a principal; an unknown or revoked token is a 401 at
 * once (revocation through this instance clears its principal cache; see registry/principals.ts).
 * Then one place decides who may call a route, from its `config.roles`, before the body is read:
 * a stranger or a wrong role gets 401/403, never a 400 or 413 that would describe the route.
 * A public route (no `config.roles`) ignores the header: credentials it does not need cannot make
 * it fail, nor cost it a look-up.
 */
export default fp(
  async (app) => {
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (request) => {
      const roles = request.routeOptions.config?.roles;
      if (!roles) return;
      const header = request.headers.authorization;
      if (header !== undefined) {
        const principal = await bearerPrincipal(app, request);
        if (!principal) throw new AppError('unauthenticated', BEARER.test(header) ? 'the token is unknown or revoked' : 'Authorization must be "Bearer <token>"');
        request.principal = principal;
      }
      requireRole(request, ...roles);
    });
  },
  { name: 'auth', dependencies: ['db'] },
);

/** The caller's principal, or 401/403 unless its role is one of `roles`. */
export function requireRole(request: FastifyRequest, ...roles: Role[]): Principal {
  const p = request.principal;
  if (!p) throw new AppError('unauthenticated', 'this route needs a bearer token');
  if (roles.length > 0 && !roles.includes(p.role)) throw new AppError('forbidden', `role ${p.role} may not do this`);
  return p;
}

/** The principal of a route that declared `config.roles` (the auth hook has already checked it). */
export function principalOf(request: FastifyRequest): Principal {
  return requireRole(request);
}

export const callerOf = (p: Principal): Caller => ({ principal_id: p.id, role: p.role, organization_id: p.organization_id });
