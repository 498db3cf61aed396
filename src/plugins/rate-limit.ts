import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { AppError } from '../errors.js';
import { bearerPrincipal } from './auth.js';

/**
 * Rate limiting (SPEC §2: 429 `rate_limited`, with Retry-After), checked before authentication so
 * that nothing escapes it: a request carrying the token of a live principal is counted against
 * that principal's budget, a principal having one token (one busy client does not block another,
 * nor many clients behind one gateway each other); every other request (no token, a malformed or unknown token, an unknown
 * route) against its IP address's, which bounds token guessing and anonymous load alike.
 */
export default fp(
  async (app, opts: { max: number; timeWindow: number }) => {
    // The principal is looked up once per request: the auth hook that follows uses the same answer.
    const keyOf = async (req: FastifyRequest): Promise<string> => {
      const principal = await bearerPrincipal(app, req);
      return principal ? `p:${principal.id}` : `ip:${req.ip}`;
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
