// The notifications page (SPEC §9, last bullet): each person's inbox, unread first, with the unread
// count in the nav of every page. Opening one (its link) marks it read and goes to its case; a
// button marks one read, another all those the page was shown with (POSTs with the CSRF token).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { eventLabel, roleLabels, stateLabel, workflowLabels } from '../../workflows/labels.js';
import { AppError, notFound } from '../errors.js';
import { html, type Html } from '../pages/html.js';
import { formatDateTime, type Lang } from '../pages/i18n.js';
import { href } from '../pages/views.js';
import { HIDE, one, requireSession, sendHtml, wbContext } from './http.js';
import { NOTIFY } from './i18n-notifications.js';
import { WB } from './i18n.js';
import { formFields, wbLayout, type WbContext } from './layout.js';
import { dueCell } from './my-work.js';
import { NOTIFICATIONS_PATH, countText, unreadFor, unreadShown, audienceOf, findNotification, markAllRead, markRead, notificationId, notificationPage, unreadCount, type Notification } from './notifications.js';

export const PAGE_SIZE = 25;

function what(lang: Lang, n: Notification): Html {
  const t = NOTIFY[lang];
  if (n.deadline) {
    const name = n.deadline.startsWith('milestone:') ? t.milestone(n.deadline.slice('milestone:'.length)) : t.deadlines[n.deadline as keyof typeof t.deadlines] ?? n.deadline;
    return html`${t.reminder(name)}`;
  }
  if (n.endpoint) return html`${t.webhookDisabled}<br><span class="muted">${t.webhookDisabledDetail(n.endpoint.url)}${n.endpoint.description ? ` (${n.endpoint.description})` : ''}</span>`;
  const kind = n.kind ?? '';
  const label = n.event === 'CASE_CREATED' ? t.caseCreated : eventLabel(kind, n.event ?? n.type, lang);
  const moved = n.to_state && n.from_state !== n.to_state ? html`<br><span class="muted">${n.from_state ? stateLabel(kind, n.from_state, lang) : ''} → ${stateLabel(kind, n.to_state, lang)}</span>` : '';
  return html`${label}${moved}`;
}

function table(ctx: WbContext, caption: string, items: Notification[], now: Date): Html {
  const t = NOTIFY[ctx.lang];
  const rows = items.map((n) => {
    const role = n.deadline ? 'system' : n.actor_role;
    const who = role ? (roleLabels[role as keyof typeof roleLabels]?.[ctx.lang] ?? role) : '—';
    const open = href(ctx, `${NOTIFICATIONS_PATH}/${n.id}`);
    const caseCell = n.number
      ? html`<a href="${open}">${n.number}</a><br><span class="muted">${workflowLabels[n.kind ?? '']?.title[ctx.lang] ?? n.kind}</span>`
      : html`—`;
    const mark = n.read
      ? html`${t.read}`
      : html`<strong>${t.unread}</strong><form method="post" action="${href(ctx, `${NOTIFICATIONS_PATH}/${n.id}/read`)}">${formFields(ctx)}<button type="submit" class="secondary">${t.markOne}<span class="visually-hidden"> · ${n.number ?? t.webhookDisabled}</span></button></form>`;
    return html`<tr id="n${n.id}"${n.read ? '' : html` class="unread"`}>
<td data-label="${t.when}"><time datetime="${n.at.toISOString()}">${formatDateTime(n.at)}</time></td>
<th scope="row" data-label="${t.what}">${what(ctx.lang, n)}</th>
<td data-label="${t.case}">${caseCell}</td>
<td data-label="${t.who}">${who}</td>
<td data-label="${t.deadline}">${n.due_at ? dueCell(ctx.lang, n.due_at, now) : '—'}</td>
<td data-label="${t.status}">${mark}</td>
</tr>`;
  });
  return html`<table class="cards"><caption class="visually-hidden">${caption}</caption><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.what}</th><th scope="col">${t.case}</th><th scope="col">${t.who}</th><th scope="col">${t.deadline}</th><th scope="col">${t.status}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

type PageData = { items: Notification[]; next_cursor: string | null; newest: string; unread: number | null; now: Date; regulator: boolean };

function notificationsPage(ctx: WbContext, v: PageData | null): Html {
  const s = WB[ctx.lang];
  const t = NOTIFY[ctx.lang];
  const done = ctx.query.read === 'all' ? t.markedAll : ctx.query.read === 'one' ? t.markedOne : null;
  const notice = done ? html`<p class="notice" role="status" tabindex="-1" autofocus>${done}</p>` : '';
  if (!v) return wbLayout(ctx, { title: t.title, body: html`<h1>${t.title}</h1><p class="panel">${t.noAudience}</p>` });
  const unread = v.items.filter((n) => !n.read);
  const read = v.items.filter((n) => n.read);
  const summary = v.unread ? html`<p><strong>${t.unreadCount(countText(v.unread))}</strong></p>` : v.items.length ? html`<p>${t.allRead}</p>` : '';
  const markAll = v.unread
    ? html`<form method="post" action="${href(ctx, `${NOTIFICATIONS_PATH}/read-all`)}">${formFields(ctx)}<input type="hidden" name="up_to" value="${v.newest}"><button type="submit" class="secondary">${t.markAll}</button></form>`
    : '';
  const sections = v.items.length
    ? html`${unread.length ? html`<section aria-labelledby="unread-h"><h2 id="unread-h">${t.unreadHeading}</h2>${table(ctx, t.unreadHeading, unread, v.now)}</section>` : ''}${
        read.length ? html`<section aria-labelledby="read-h"><h2 id="read-h">${t.readHeading}</h2>${table(ctx, t.readHeading, read, v.now)}</section>` : ''
      }`
    : html`<p class="panel">${t.none}</p>`;
  const pager =
    v.next_cursor || ctx.query.cursor
      ? html`<nav class="pager" aria-label="${s.pagination}">${ctx.query.cursor ? html`<a href="${href(ctx, NOTIFICATIONS_PATH, { limit: ctx.query.limit })}">${s.firstPage}</a>` : html`<span></span>`}${
          v.next_cursor ? html`<a href="${href(ctx, NOTIFICATIONS_PATH, { limit: ctx.query.limit, cursor: v.next_cursor })}" rel="next">${s.nextPage}</a>` : ''
        }</nav>`
      : '';
  return wbLayout(ctx, { title: t.title, body: html`${notice}<h1>${t.title}</h1><p class="muted">${v.regulator ? t.introRegulator : t.intro}</p>${summary}${markAll}${sections}${pager}` });
}

async function notificationRoutes(app: FastifyInstance) {
  // Every page's nav shows the unread count: read once per page (GET) of a signed-in person with an inbox.
  app.addHook('preHandler', async (request) => {
    const p = request.wbSession?.principal;
    const a = p && (request.method === 'GET' || request.method === 'HEAD') ? audienceOf(p) : null;
    if (p && a) unreadShown.set(p, await unreadCount(app.db, a));
  });

  app.get('/notifications', { schema: HIDE }, async (request, reply) => {
    const session = requireSession(request, reply);
    if (!session) return reply;
    const ctx = wbContext(request, reply);
    const a = audienceOf(session.principal);
    if (!a) return sendHtml(reply, ctx, notificationsPage(ctx, null));
    const limit = /^([1-9]|[1-9][0-9]|100)$/.test(ctx.query.limit ?? '') ? Number(ctx.query.limit) : PAGE_SIZE;
    const page = await notificationPage(app.db, a, { cursor: ctx.query.cursor, limit });
    return sendHtml(reply, ctx, notificationsPage(ctx, { ...page, unread: unreadFor(session.principal), now: app.engine.now(), regulator: session.principal.role === 'regulator' }));
  });

  /** The signed-in person's notification named in the path, marked read (404 if it is not theirs); null once a sign-in redirect is sent. */
  const readOne = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = requireSession(request, reply);
    if (!session) return null;
    const a = audienceOf(session.principal);
    const id = notificationId((request.params as { id: string }).id);
    const n = a && id ? await findNotification(app.db, a, id) : null;
    if (!a || !n) throw notFound('notification');
    await markRead(app.db, a, n.id);
    return n;
  };

  // Opening one: marked read, then its case (a notice without a case: back to the list).
  app.get('/notifications/:id', { schema: HIDE }, async (request, reply) => {
    const n = await readOne(request, reply);
    if (!n) return reply;
    const ctx = wbContext(request, reply);
    const to = n.case_id && n.kind ? href(ctx, `/workbench/cases/${n.kind}/${n.case_id}`) : href(ctx, NOTIFICATIONS_PATH, { read: 'one' });
    return reply.header('cache-control', 'no-store').redirect(to, 303);
  });

  app.post('/notifications/:id/read', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const n = await readOne(request, reply);
    if (!n) return reply;
    const ctx = wbContext(request, reply);
    return reply.header('cache-control', 'no-store').redirect(href(ctx, NOTIFICATIONS_PATH, { read: 'one' }), 303);
  });

  app.post('/notifications/read-all', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const session = requireSession(request, reply);
    if (!session) return reply;
    const ctx = wbContext(request, reply);
    const a = audienceOf(session.principal);
    if (!a) throw notFound('notification');
    const upTo = one(((request.body ?? {}) as Record<string, unknown>).up_to);
    if (!notificationId(upTo)) throw new AppError('validation_failed', NOTIFY[ctx.lang].badUpTo, { errors: [{ path: 'up_to', message: 'is not a notification number' }] });
    await markAllRead(app.db, a, upTo);
    return reply.header('cache-control', 'no-store').redirect(href(ctx, NOTIFICATIONS_PATH, { read: 'all' }), 303);
  });
}

/** Shares its hook with every workbench page (fastify-plugin), so each page's nav has the count. */
export default fp(notificationRoutes, { name: 'workbench-notifications' });
