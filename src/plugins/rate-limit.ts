import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { AppError } from '../errors.js';
import { authenticate, hashToken } from '../services/principals.js';

// The syntax the auth plugin accepts; anything else is not a token and is counted per IP.
const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/;

/**
 * Rate limiting (SPEC §2: 429 `rate_limited`, with Retry-After), checked before authentication so
 * that nothing escapes it: a request carrying the token of a live principal is counted against
 * that token's budget (one busy client does not block another, nor many clients behind one
 * gateway each other); every other request (no token, a malformed or unknown token, an unknown
 * route) against its IP address's, which bounds token guessing and anonymous load alike.
 */
export default fp(
  async (app, opts: { max: number; timeWindow: number }) => {
    // authenticate() caches a live principal briefly, so the auth hook that follows asks the database no second time.
    const keyOf = async (req: FastifyRequest): Promise<string> => {
      const m = BEARER.exec(req.headers.authorization ?? '');
      if (m && (await authenticate(app.db, m[1]!))) return `t:${hashToken(m[1]!)}`;
      return `ip:${req.ip}`;
    };
    await app.register(rateLimit, {
      global: false,
      max: opts.max,
      timeWindow: opts.timeWindow,
      keyGenerator: keyOf,
      errorResponseBuilder: (_req, ctx) =>
        new AppError('rate_limited', `rate limit of ${ctx.max} requests per ${ctx.after} exceeded; retry later`),
    });
    // An instance hook, not a route hook: it runs before the auth plugin's, for every route and for the 404 handler.
    app.addHook('onRequest', app.rateLimit());
  },
  { name: 'rate-limit', dependencies: ['db', 'errors'] },
);
