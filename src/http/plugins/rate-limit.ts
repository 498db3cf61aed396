import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { AppError } from '../../errors.js';
import { requestSession } from '../../workbench/sessions.js';
import { bearerPrincipal } from './auth.js';

/** "60 seconds", "1 second", "500 ms": the window as a person reads it. */
export function describeWindow(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return `${s} second${s === 1 ? '' : 's'}`;
}

/**
 * Rate limiting (SPEC §2: 429 `rate_limited`, with Retry-After), checked before authentication so
 * that nothing escapes it: a request carrying the token of a live principal, or a workbench page
 * asked for with a live session's cookie, is counted against that principal's budget, one budget
 * per principal whether it works through the API or the workbench (one busy client does not block
 * another, nor many people behind one gateway each other); every other request (no credential, a
 * malformed or unknown token, an ended session, an unknown route) against its IP address's, which
 * bounds token guessing and anonymous load alike.
 * Routes with `config.rateLimit: false` (the health checks a load balancer polls) are never limited.
 */
export default fp(
  async (app, opts: { max: number; timeWindow: number }) => {
    // The principal is looked up once per request: the auth hook (or the workbench's) that follows uses the same answer.
    const keyOf = async (req: FastifyRequest): Promise<string> => {
      let principal;
      try {
        principal = (await bearerPrincipal(app, req)) ?? (await requestSession(app.db, req, app.engine.now))?.principal;
      } catch (err) {
        // A public route ignores credentials it does not need: when they cannot be checked (the
        // database is down) its request counts against its address, and the route still answers
        // (a workbench page then answers from the same failed look-up: the database is down).
        if (req.routeOptions.config?.roles) throw err;
        principal = null;
      }
      return principal ? `p:${principal.id}` : `ip:${req.ip}`;
    };
    const window = describeWindow(opts.timeWindow);
    await app.register(rateLimit, {
      global: false,
      max: opts.max,
      timeWindow: opts.timeWindow,
      keyGenerator: keyOf,
      // The window in the text; the time left is in Retry-After.
      errorResponseBuilder: (_req, ctx) => new AppError('rate_limited', `rate limit of ${ctx.max} requests per ${window} exceeded; retry in ${ctx.after}`),
    });
    const limit = app.rateLimit() as (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    // An instance hook, not a route hook: it runs before the auth plugin's, for every route and for the 404 handler.
    app.addHook('onRequest', async (req, reply) => {
      if (req.routeOptions.config?.rateLimit === false) return;
      return limit(req, reply);
    });
  },
  { name: 'rate-limit', dependencies: ['db', 'errors'] },
);
