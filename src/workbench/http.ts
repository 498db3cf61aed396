// What every workbench route shares: the page context, the HTML answer, the session requirement.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Html } from '../pages/html.js';
import { chooseLang } from '../pages/i18n.js';
import { href } from '../pages/views.js';
import { WB } from './i18n.js';
import { messagePage, type WbContext } from './layout.js';
import type { Session } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    wbSession: Session | null;
  }
}

export const CSRF_COOKIE = 'wb_csrf';
export const one = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');
export const HIDE = { hide: true } as const;

export const cookieOptions = (request: FastifyRequest) => ({ path: '/workbench', httpOnly: true, sameSite: 'strict' as const, secure: request.protocol === 'https' });

/** The page context of a request: language, path, query, who is signed in, and a CSRF token for its forms. */
export function wbContext(request: FastifyRequest, reply: FastifyReply): WbContext {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries((request.query ?? {}) as Record<string, unknown>)) if (one(v)) query[k] = one(v);
  const { lang, explicit } = chooseLang(query.lang, request.headers['accept-language']);
  // An answer given before the workbench's hooks ran (the rate limiter's) has no cookies read, and no form to protect.
  const csrfToken = request.cookies ? reply.generateCsrf({ ...cookieOptions(request) } as never) : '';
  return { lang, explicit, path: request.url.split('?')[0]!, query, principal: request.wbSession?.principal ?? null, csrf: csrfToken };
}

export function sendHtml(reply: FastifyReply, ctx: WbContext, page: Html, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').header('content-language', ctx.lang).header('cache-control', 'no-store').send(page.value);
}

/** The signed-in session, or the way to one: GET goes to the sign-in page, anything else is a 401 page. */
export function requireSession(request: FastifyRequest, reply: FastifyReply): Session | null {
  if (request.wbSession) return request.wbSession;
  const ctx = wbContext(request, reply);
  if (request.method === 'GET' || request.method === 'HEAD') {
    reply.header('cache-control', 'no-store').redirect(href(ctx, '/workbench/sign-in', { next: request.url.startsWith('/workbench') ? request.url : undefined, ended: '1' }), 303);
  } else {
    sendHtml(reply, ctx, messagePage(ctx, WB[ctx.lang].signInTitle, WB[ctx.lang].sessionEnded, { error: true }), 401);
  }
  return null;
}

