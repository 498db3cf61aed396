// The workbench's page frame: the register's stylesheet and its own, both languages, the signed-in
// person and the sign-out form (a POST with its CSRF token, so no link can sign anyone out).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { roleLabels } from '../../workflows/labels.js';
import type { Principal } from '../registry/principals.js';
import { Html, html } from '../pages/html.js';
import type { Lang } from '../pages/i18n.js';
import { CSS_HREF, href, type PageContext } from '../pages/views.js';
import { WB } from './i18n.js';
import { NOTIFY } from './i18n-notifications.js';
import { NOTIFICATIONS_PATH, countText, unreadFor } from './notifications.js';

export const WB_CSS = readFileSync(new URL('./workbench.css', import.meta.url), 'utf8');
export const WB_CSS_PATH = '/workbench/assets/workbench.css';
const WB_CSS_HREF = `${WB_CSS_PATH}?v=${createHash('sha256').update(WB_CSS).digest('hex').slice(0, 12)}`;

/** What every workbench page knows: the request's language and links, who is signed in, the form token. */
export type WbContext = PageContext & { principal: Principal | null; csrf: string };

function switchHref(ctx: PageContext, lang: Lang): string {
  const sp = new URLSearchParams(ctx.query);
  sp.set('lang', lang);
  return `${ctx.path}?${sp.toString()}`;
}

/** The hidden field every form carries: its CSRF token (the language travels in the action's URL). */
export const formFields = (ctx: WbContext): Html => html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;

/** The nav's link to the person's notifications, with the unread count when there is one. */
function notificationsLink(ctx: WbContext, unread: number | null): Html {
  const t = NOTIFY[ctx.lang];
  return html`<li><a href="${href(ctx, NOTIFICATIONS_PATH)}">${t.nav}${unread ? html` <span class="badge" aria-hidden="true">${countText(unread)}</span><span class="visually-hidden">${t.navUnread(countText(unread))}</span>` : ''}</a></li>`;
}

export function wbLayout(ctx: WbContext, opts: { title: string; body: Html; error?: boolean }): Html {
  const s = WB[ctx.lang];
  const other: Lang = ctx.lang === 'en' ? 'zh-Hans' : 'en';
  const p = ctx.principal;
  const who = p ? s.signedInAs(p.name ?? p.id.slice(0, 8), roleLabels[p.role][ctx.lang]) : '';
  return html`<!doctype html>
<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${opts.error ? s.errorPrefix : ''}${opts.title} · ${s.siteName}</title>
<link rel="stylesheet" href="${CSS_HREF}">
<link rel="stylesheet" href="${WB_CSS_HREF}">
<link rel="icon" href="data:,">
</head>
<body class="workbench">
<a class="skip" href="#main">${ctx.lang === 'en' ? 'Skip to content' : '跳到正文'}</a>
<header class="site"><div class="wrap">
<a class="brand" href="${href(ctx, '/workbench')}">${s.siteName}<small>${s.siteTagline}</small></a>
${p ? html`<nav aria-label="${s.navMyWork}"><ul><li><a href="${href(ctx, '/workbench')}">${s.navMyWork}</a></li>${
    p.role === 'admin' || p.role === 'regulator' ? html`<li><a href="${href(ctx, '/workbench/organizations')}">${s.navOrganizations}</a></li>` : ''
  }${p.role === 'admin' ? html`<li><a href="${href(ctx, '/workbench/principals')}">${s.navPrincipals}</a></li>` : ''}${p.role !== 'admin' ? notificationsLink(ctx, unreadFor(p)) : ''}</ul></nav>` : ''}
<a class="lang-switch" href="${switchHref(ctx, other)}" hreflang="${other}" lang="${other}">${ctx.lang === 'en' ? '中文' : 'English'}</a>
${p ? html`<form class="sign-out" method="post" action="${href(ctx, '/workbench/sign-out')}"><span class="who">${who}</span> ${formFields(ctx)}<button type="submit" class="link-button">${s.signOut}</button></form>` : ''}
</div></header>
<main id="main" class="wrap" tabindex="-1">
${opts.body}
</main>
</body>
</html>
`;
}

/** A page that says one thing (an error, a notice), with a way back. */
export function messagePage(ctx: WbContext, title: string, message: string, opts: { error?: boolean; back?: boolean } = {}): Html {
  const s = WB[ctx.lang];
  return wbLayout(ctx, {
    title,
    error: opts.error,
    body: html`<h1>${title}</h1><p>${message}</p>${opts.back !== false ? html`<p><a href="${href(ctx, ctx.principal ? '/workbench' : '/workbench/sign-in')}">${ctx.principal ? s.backToMyWork : s.signInTitle}</a></p>` : ''}`,
  });
}
