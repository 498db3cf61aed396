// A case as the people who work it read it: its facts, deadlines, application and record as
// sections, its history, and a button for each event this person may fire now.
import { eventLabel, roleLabels, stateLabel, workflowLabels } from '../../workflows/labels.js';
import type { AuditEventView, CaseView } from '../engine/case.js';
import { html, type Html } from '../pages/html.js';
import { formatDateTime, type Lang } from '../pages/i18n.js';
import { href } from '../pages/views.js';
import { fieldLabel, knownChoice } from './field-labels.js';
import { WB } from './i18n.js';
import { wbLayout, type WbContext } from './layout.js';
import { timeLeft } from './my-work.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Any JSON as nested definition lists and lists: the names labelled, times in China time, nothing raw. */
export function readable(lang: Lang, value: unknown, depth = 0, key = ''): Html {
  const s = WB[lang];
  if (value === null || value === undefined || value === '') return html`<span class="muted">—</span>`;
  if (typeof value === 'boolean') return html`${value ? s.yes : s.no}`;
  if (typeof value === 'string') {
    if (ISO.test(value) && !Number.isNaN(Date.parse(value))) return html`<time datetime="${value}">${formatDateTime(value)}</time>`;
    // A schema's choice (risk level, region, verdict) by its label; free text as written.
    return html`${knownChoice(lang, key, value) ?? value}`;
  }
  if (typeof value !== 'object' || depth > 6) return html`${String(value)}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<span class="muted">${s.empty}</span>`;
    return html`<ul class="plain">${value.map((v) => html`<li>${readable(lang, v, depth + 1, key)}</li>`)}</ul>`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return html`<span class="muted">${s.empty}</span>`;
  return html`<dl class="facts">${entries.map(([k, v]) => html`<dt>${fieldLabel(lang, k)}</dt><dd>${readable(lang, v, depth + 1, k)}</dd>`)}</dl>`;
}

export type CasePageData = {
  c: CaseView;
  names: { organization: string | null; product: string | null; lab: string | null };
  history: AuditEventView[];
  historyNext: string | null;
  actorNames: Map<string, string>;
  events: string[];
  /** The application may be edited now (a draft, by its applicant). */
  editable: boolean;
  now: Date;
  notice?: { text: string; warn?: boolean };
  status?: 'stale' | 'not-now';
};

export const caseTitle = (lang: Lang, c: CaseView) => `${WB[lang].caseHeading(c.number)} · ${workflowLabels[c.kind]?.title[lang] ?? c.kind}`;

export function casePage(ctx: WbContext, d: CasePageData): Html {
  const s = WB[ctx.lang];
  const { c } = d;
  const base = `/workbench/cases/${c.kind}/${c.id}`;
  const actions =
    d.events.length || d.editable
      ? html`<ul class="actions" role="list">${d.editable ? html`<li><a class="button secondary" href="${href(ctx, `${base}/edit`)}">${s.editApplication}</a></li>` : ''}${d.events.map(
          (e) => html`<li><a class="button${d.events.length > 1 ? ' secondary' : ''}" href="${href(ctx, `${base}/events/${e}`)}">${eventLabel(c.kind, e, ctx.lang)}</a></li>`,
        )}</ul>`
      : html`<p>${s.noActions}</p>`;
  const deadlines = Object.entries(c.deadlines ?? {});
  const deadlineList = deadlines.length
    ? html`<dl class="facts">${deadlines.map(([name, at]) => {
        const left = timeLeft(s, new Date(at), d.now);
        return html`<dt>${fieldLabel(ctx.lang, name)}</dt><dd><time datetime="${at}">${formatDateTime(at)}</time> <span class="time-left${left.overdue ? ' overdue' : ''}">(${left.text})</span></dd>`;
      })}</dl>`
    : html`<p>${s.noDeadlines}</p>`;
  const who = (e: AuditEventView) => {
    const role = roleLabels[e.actor.role as keyof typeof roleLabels]?.[ctx.lang] ?? e.actor.role;
    const name = e.actor.principal_id ? d.actorNames.get(e.actor.principal_id) : null;
    return name ? `${name} (${role})` : role;
  };
  const history = html`<table class="cards history"><caption class="visually-hidden">${s.history}</caption><thead><tr><th scope="col">${s.when}</th><th scope="col">${s.what}</th><th scope="col">${s.who}</th><th scope="col">${s.why}</th><th scope="col">${s.hash}</th></tr></thead><tbody>${d.history.map(
    (e) => html`<tr>
<td data-label="${s.when}"><time datetime="${e.at}">${formatDateTime(e.at)}</time></td>
<th scope="row" data-label="${s.what}">${e.type === 'CASE_CREATED' ? (ctx.lang === 'en' ? 'Case created' : '创建案件') : eventLabel(c.kind, e.type, ctx.lang)}${e.from_state !== e.to_state && e.to_state ? html`<br><span class="muted">${e.from_state ? stateLabel(c.kind, e.from_state, ctx.lang) : ''} → ${stateLabel(c.kind, e.to_state, ctx.lang)}</span>` : ''}</th>
<td data-label="${s.who}">${who(e)}</td>
<td data-label="${s.why}">${e.type === 'CASE_CREATED' || e.type === 'REPLACE_APPLICATION' || Object.keys(e.payload ?? {}).length === 0 ? '' : readable(ctx.lang, e.payload)}</td>
<td data-label="${s.hash}"><code class="hash">${e.hash}</code></td>
</tr>`,
  )}</tbody></table>${d.historyNext ? html`<p><a href="${href(ctx, base, { history: d.historyNext })}">${s.moreHistory}</a></p>` : ''}`;
  return wbLayout(ctx, {
    title: caseTitle(ctx.lang, c),
    error: d.status !== undefined,
    body: html`${d.notice ? html`<p class="notice${d.notice.warn ? ' warn' : ''}" role="${d.notice.warn ? 'alert' : 'status'}"${d.notice.warn ? html` tabindex="-1" autofocus` : ''}>${d.notice.text}</p>` : ''}
<p><a href="${href(ctx, '/workbench')}">${s.backToMyWork}</a></p>
<h1>${c.number} <span class="badge s-state" data-state="${c.state}">${stateLabel(c.kind, c.state, ctx.lang)}</span></h1>
<p class="muted">${workflowLabels[c.kind]?.title[ctx.lang] ?? c.kind}</p>
<section class="panel" aria-labelledby="actions-h"><h2 id="actions-h">${s.yourActions}</h2>${actions}</section>
<section class="panel" aria-labelledby="facts-h"><h2 id="facts-h" class="visually-hidden">${s.number}</h2><dl class="facts">
<dt>${s.organization}</dt><dd>${d.names.organization ?? '—'}</dd>
${c.product_id ? html`<dt>${s.product}</dt><dd>${d.names.product ?? '—'}</dd>` : ''}
${c.lab_id ? html`<dt>${s.lab}</dt><dd>${d.names.lab ?? '—'}</dd>` : ''}
<dt>${s.created}</dt><dd><time datetime="${c.created_at}">${formatDateTime(c.created_at)}</time></dd>
<dt>${s.updated}</dt><dd><time datetime="${c.updated_at}">${formatDateTime(c.updated_at)}</time></dd>
<dt>${s.version}</dt><dd>${c.version}</dd>
</dl></section>
<section aria-labelledby="deadlines-h"><h2 id="deadlines-h">${s.deadlines}</h2><div class="panel">${deadlineList}</div></section>
<section aria-labelledby="application-h"><h2 id="application-h">${s.application}</h2><div class="panel">${readable(ctx.lang, c.application)}</div></section>
<section aria-labelledby="record-h"><h2 id="record-h">${s.record}</h2><div class="panel">${readable(ctx.lang, c.record)}</div></section>
<section aria-labelledby="history-h"><h2 id="history-h">${s.history}</h2>${history}</section>`,
  });
}

/** The page of one event's form: the case it acts on, the form, and the way back. */
export function eventFormPage(ctx: WbContext, v: { c: CaseView; type: string; summary: Html; form: Html; error: boolean }): Html {
  const s = WB[ctx.lang];
  const label = eventLabel(v.c.kind, v.type, ctx.lang);
  return wbLayout(ctx, {
    title: s.eventFormTitle(label, v.c.number),
    error: v.error,
    body: html`${v.summary}<p><a href="${href(ctx, `/workbench/cases/${v.c.kind}/${v.c.id}`)}">← ${v.c.number}</a></p>
<h1>${label}<span class="muted"> · ${v.c.number}</span></h1>
<p class="muted">${stateLabel(v.c.kind, v.c.state, ctx.lang)} · ${s.version} ${v.c.version}</p>
${v.form}`,
  });
}

/** "Check your answers": the case, the decision and what was entered, then one button; every field travels on hidden. */
export function checkPage(ctx: WbContext, v: { c: CaseView; type: string; payload: unknown; action: string; hidden: Array<[string, string]> }): Html {
  const s = WB[ctx.lang];
  const label = eventLabel(v.c.kind, v.type, ctx.lang);
  const hidden = v.hidden.map(([k, x]) => html`<input type="hidden" name="${k}" value="${x}">`);
  return wbLayout(ctx, {
    title: `${s.checkTitle} · ${label} · ${v.c.number}`,
    body: html`<h1>${s.checkTitle}</h1><p>${s.checkIntro}</p>
<div class="panel"><dl class="facts"><dt>${s.number}</dt><dd>${v.c.number} · ${workflowLabels[v.c.kind]?.title[ctx.lang] ?? v.c.kind}</dd><dt>${s.state}</dt><dd>${stateLabel(v.c.kind, v.c.state, ctx.lang)}</dd><dt>${s.decision}</dt><dd><strong>${label}</strong></dd></dl>
${Object.keys((v.payload as object) ?? {}).length ? readable(ctx.lang, v.payload) : ''}</div>
<form method="post" action="${v.action}">${hidden}<input type="hidden" name="_confirm" value="1">
<div class="form-actions"><button type="submit">${s.confirm(label)}</button> <button type="submit" class="secondary" name="_edit" value="1">${s.change}</button></div></form>`,
  });
}
