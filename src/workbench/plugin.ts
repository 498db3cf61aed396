// The workbench (SPEC §6): HTML pages for the people who work cases, under /workbench, in a plugin
// of its own so that its cookie, form-body and CSRF plugins and its HTML error pages stay here:
// the API's content types, errors and authentication are untouched.
import type { FastifyError, FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import csrf from '@fastify/csrf-protection';
import { AppError, isDataException, isUnavailable } from '../errors.js';
import { UNAVAILABLE_RETRY_AFTER_S } from '../http/plugins/errors.js';
import { authenticate } from '../registry/principals.js';
import { chooseLang } from '../pages/i18n.js';
import { href } from '../pages/views.js';
import { WB } from './i18n.js';
import { WB_CSS, WB_CSS_PATH, messagePage } from './layout.js';
import { CSRF_COOKIE, HIDE, cookieOptions, one, sendHtml, wbContext } from './http.js';
import { SESSION_COOKIE, endSession, requestSession, startSession } from './sessions.js';
import { signInPage } from './sign-in.js';
import myWorkRoutes from './my-work.js';
import casePageRoutes from './case-routes.js';
import applicantRoutes from './applicant-routes.js';
import adminRoutes from './admin-routes.js';
import notificationRoutes from './notifications-routes.js';

function htmlErrors(app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) => {
    const ctx = wbContext(request, reply);
    const s = WB[ctx.lang];
    return sendHtml(reply, ctx, messagePage(ctx, s.notFoundTitle, s.notFoundPage, { error: true }), 404);
  });
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const ctx = wbContext(request, reply);
    const s = WB[ctx.lang];
    const code = (err as FastifyError).code;
    if (code === 'FST_CSRF_INVALID_TOKEN' || code === 'FST_CSRF_MISSING_SECRET') return sendHtml(reply, ctx, messagePage(ctx, s.csrfTitle, s.csrfMessage, { error: true }), 403);
    const status = err instanceof AppError ? err.status : isDataException(err) ? 400 : (err.statusCode ?? 500);
    if (status === 404) return sendHtml(reply, ctx, messagePage(ctx, s.notFoundTitle, s.notFoundPage, { error: true }), 404);
    if (status === 429) return sendHtml(reply, ctx, messagePage(ctx, s.tooManyTitle, s.tooManyMessage(String(reply.getHeader('retry-after') ?? '')), { error: true }), 429);
    if (status < 500) return sendHtml(reply, ctx, messagePage(ctx, status === 400 ? s.badRequestTitle : s.errorTitle, err instanceof AppError ? err.detail : err.message, { error: true }), status);
    if (isUnavailable(err)) {
      request.log.warn({ err }, 'workbench unavailable: the database cannot be reached');
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
      return sendHtml(reply, ctx, messagePage(ctx, s.errorTitle, s.errorTitle, { error: true }), 503);
    }
    request.log.error({ err }, 'workbench page failed');
    return sendHtml(reply, ctx, messagePage(ctx, s.errorTitle, `${s.errorTitle} (${request.id})`, { error: true }), 500);
  });
}

/** A `next` that stays inside the workbench (no scheme, no host, no //): anything else goes to My work. */
const safeNext = (next: string) => (/^\/workbench(\/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=+-]*)?$/.test(next) && !next.includes('//') ? next : '/workbench');

async function workbench(app: FastifyInstance) {
  await app.register(cookie);
  await app.register(formbody);
  await app.register(csrf, { cookieKey: CSRF_COOKIE, cookieOpts: { path: '/workbench', sameSite: 'strict', httpOnly: true } });
  htmlErrors(app);
  app.decorateRequest('wbSession', null);
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith(WB_CSS_PATH)) return;
    request.wbSession = await requestSession(app.db, request, app.engine.now);
  });

  app.get('/assets/workbench.css', { schema: HIDE }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(WB_CSS),
  );

  app.get('/sign-in', { schema: HIDE }, async (request, reply) => {
    const ctx = wbContext(request, reply);
    if (request.wbSession) return reply.header('cache-control', 'no-store').redirect(href(ctx, '/workbench'), 303);
    const notice = ctx.query.ended ? WB[ctx.lang].sessionEnded : ctx.query.out ? WB[ctx.lang].signedOut : null;
    return sendHtml(reply, ctx, signInPage(ctx, { next: safeNext(ctx.query.next ?? ''), notice }));
  });

  app.post('/sign-in', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const token = one(body.token).trim();
    const next = safeNext(one(body.next));
    const principal = token ? await authenticate(app.db, token) : null;
    if (!principal) {
      const ctx = wbContext(request, reply);
      const s = WB[ctx.lang];
      return sendHtml(reply, ctx, signInPage(ctx, { next, error: token ? s.badToken : s.noToken }), token ? 401 : 400);
    }
    if (request.wbSession) await endSession(app.db, request.wbSession.idHash);
    const id = await startSession(app.db, principal, app.engine.now());
    reply.setCookie(SESSION_COOKIE, id, cookieOptions(request));
    // A new session gets a new CSRF secret: a token issued to the signed-out page (or planted before) is not one of its.
    delete request.cookies[CSRF_COOKIE];
    reply.generateCsrf({ ...cookieOptions(request) } as never);
    const lang = chooseLang(one((request.query as Record<string, unknown>)?.lang), undefined);
    const sep = next.includes('?') ? '&' : '?';
    return reply.header('cache-control', 'no-store').redirect(lang.explicit ? `${next}${sep}lang=${lang.lang}` : next, 303);
  });

  app.post('/sign-out', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    if (request.wbSession) await endSession(app.db, request.wbSession.idHash);
    request.wbSession = null;
    reply.clearCookie(SESSION_COOKIE, { path: '/workbench' }).clearCookie(CSRF_COOKIE, { path: '/workbench' });
    const lang = chooseLang(one((request.query as Record<string, unknown>)?.lang), undefined);
    return reply.header('cache-control', 'no-store').redirect(`/workbench/sign-in?out=1${lang.explicit ? `&lang=${lang.lang}` : ''}`, 303);
  });

  // First: its hook puts the unread count in every page's nav.
  await app.register(notificationRoutes);
  await app.register(myWorkRoutes);
  await app.register(casePageRoutes);
  await app.register(applicantRoutes);
  await app.register(adminRoutes);
}

/** Registered by the app under /workbench. */
export default async function workbenchRoutes(app: FastifyInstance) {
  await app.register(workbench, { prefix: '/workbench' });
}
