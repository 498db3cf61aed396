// The public pages as functions from data to markup. Every value goes through html``, which escapes it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PublicCertificate, PublicStatusChange, CertificateStatus } from '../register/certificates.js';
import type { SandboxRegisterEntry } from '../register/sandbox.js';
import type { GenaiProjectPage, GenaiRegisterEntry } from '../register/genai.js';
import type { SchemeView } from '../registry/schemes.js';
import { certificateStatusLabels, eventLabel, roleLabels, stateLabel, statusChangeLabels, workflowLabels } from '../../workflows/labels.js';
import { Html, html } from './html.js';
import { STRINGS, formatDate, formatDateTime, type Lang } from './i18n.js';

export const CSS = readFileSync(new URL('./register.css', import.meta.url), 'utf8');
export const CSS_PATH = '/assets/register.css';
/** Pages link the stylesheet with its hash, so browsers may keep it for good and still see a new one. */
export const CSS_HREF = `${CSS_PATH}?v=${createHash('sha256').update(CSS).digest('hex').slice(0, 12)}`;

/** What every page needs to know about the request: its language, and how to link back into the site. */
export type PageContext = {
  lang: Lang;
  /** The language was asked for with ?lang=, so links carry it on. */
  explicit: boolean;
  path: string;
  query: Record<string, string>;
};

/** A link into the site that keeps the chosen language. */
export function href(ctx: PageContext, path: string, params: Record<string, string | undefined | null> = {}): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') sp.set(k, v);
  if (ctx.explicit) sp.set('lang', ctx.lang);
  const qs = sp.toString();
  return qs ? `${path}?${qs}` : path;
}

function switchHref(ctx: PageContext, lang: Lang): string {
  const sp = new URLSearchParams(ctx.query);
  sp.set('lang', lang);
  return `${ctx.path}?${sp.toString()}`;
}

/** The page that verifies a pasted or scanned credential (src/pages/verify.ts). */
export const VERIFY_PATH = '/register/verify';

export function layout(ctx: PageContext, opts: { title: string; section: 'register' | 'verify' | 'workflows' | null; body: Html }): Html {
  const s = STRINGS[ctx.lang];
  const other: Lang = ctx.lang === 'en' ? 'zh-Hans' : 'en';
  const current = (section: string) => (opts.section === section ? html` aria-current="page"` : '');
  return html`<!doctype html>
<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · ${s.siteName}</title>
<link rel="stylesheet" href="${CSS_HREF}">
<link rel="icon" href="data:,">
<link rel="alternate" hreflang="zh-Hans" href="${switchHref(ctx, 'zh-Hans')}">
<link rel="alternate" hreflang="en" href="${switchHref(ctx, 'en')}">
</head>
<body>
<a class="skip" href="#main">${s.skip}</a>
<header class="site"><div class="wrap">
<a class="brand" href="${href(ctx, '/register')}">${s.siteName}<small>${s.siteTagline}</small></a>
<nav aria-label="${s.navPrimary}"><ul>
<li><a href="${href(ctx, '/register')}"${current('register')}>${s.navRegister}</a></li>
<li><a href="${href(ctx, VERIFY_PATH)}"${current('verify')}>${s.verify.nav}</a></li>
<li><a href="${href(ctx, '/workflows')}"${current('workflows')}>${s.navWorkflows}</a></li>
</ul></nav>
<a class="lang-switch" href="${switchHref(ctx, other)}" hreflang="${other}" lang="${other}" aria-label="${s.switchToLabel}">${s.switchTo}</a>
</div></header>
<main id="main" class="wrap">
${opts.body}
</main>
<footer class="site"><div class="wrap"><p>${s.footer}</p><p>${s.timeZoneNote} <a href="/documentation">${s.apiLink}</a></p></div></footer>
</body>
</html>
`;
}

const certBadge = (lang: Lang, status: CertificateStatus) => html`<span class="badge s-${status}">${certificateStatusLabels[status][lang]}</span>`;
const stateBadge = (lang: Lang, kind: string, state: string) => html`<span class="badge s-state" data-state="${state}">${stateLabel(kind, state, lang)}</span>`;
const time = (iso: string | null | undefined, withTime = false) => (iso ? html`<time datetime="${iso}">${withTime ? formatDateTime(iso) : formatDate(iso)}</time>` : '—');
const schemeTitle = (lang: Lang, code: string, schemes: SchemeView[]) => {
  const s = schemes.find((x) => x.code === code);
  return s ? (lang === 'zh-Hans' && s.title_zh ? s.title_zh : s.title) : code;
};

// ---- /register ----------------------------------------------------------------------------------

export const KINDS = ['all', 'certificates', 'sandbox', 'genai'] as const;
export type RegisterKind = (typeof KINDS)[number];
export type Section =
  | { kind: 'certificates'; items: PublicCertificate[]; next_cursor: string | null }
  | { kind: 'sandbox'; items: SandboxRegisterEntry[]; next_cursor: string | null }
  | { kind: 'genai'; items: GenaiRegisterEntry[]; next_cursor: string | null };

/** What the search form asked for; `limit` is empty for the default page size. */
export type RegisterSearch = { q: string; kind: RegisterKind; status: string; state: string; scheme: string; cursor: string; limit: string };

export function registerPage(
  ctx: PageContext,
  v: { search: RegisterSearch; sections: Section[]; schemes: SchemeView[]; certificateStatuses: readonly CertificateStatus[]; sandboxStates: readonly string[]; genaiStates: readonly string[] },
): Html {
  const s = STRINGS[ctx.lang];
  const { search } = v;
  const kindName: Record<RegisterKind, string> = { all: s.kindAll, certificates: s.kindCertificates, sandbox: s.kindSandbox, genai: s.kindGenai };
  const option = (value: string, label: string, selected: string) => html`<option value="${value}"${value === selected ? html` selected` : ''}>${label}</option>`;
  const filterParams = { q: search.q, kind: search.kind === 'all' ? undefined : search.kind, status: search.status, state: search.state, scheme: search.scheme, limit: search.limit };
  const form = html`<form class="search panel" method="get" action="/register" role="search">
<h1>${s.searchTitle}</h1>
<p class="muted" id="search-help">${s.searchIntro}</p>
<label for="q">${s.searchLabel}</label>
<div class="row">
<input type="search" id="q" name="q" value="${search.q}" maxlength="200" autocomplete="off" aria-describedby="search-help" placeholder="GDAIC-2026-000001">
<button type="submit">${s.searchButton}</button>
</div>
${ctx.explicit ? html`<input type="hidden" name="lang" value="${ctx.lang}">` : ''}
<details class="filters-box"${search.kind !== 'all' || search.status || search.state || search.scheme ? html` open` : ''}><summary>${s.filters}</summary>
<div class="filters">
<div><label for="kind">${s.kind}</label><select id="kind" name="kind">${KINDS.map((k) => option(k === 'all' ? '' : k, kindName[k], search.kind === 'all' ? '' : search.kind))}</select></div>
<div><label for="status">${s.certificateStatus}</label><select id="status" name="status">${option('', s.any, search.status)}${v.certificateStatuses.map((st) => option(st, certificateStatusLabels[st][ctx.lang], search.status))}</select></div>
<div><label for="state">${s.caseState}</label><select id="state" name="state">${option('', s.any, search.state)}
<optgroup label="${s.kindSandbox}">${v.sandboxStates.map((st) => option(st, stateLabel('sandbox-cases', st, ctx.lang), search.state))}</optgroup>
<optgroup label="${s.kindGenai}">${v.genaiStates.map((st) => option(st, stateLabel('genai-projects', st, ctx.lang), search.state))}</optgroup>
</select></div>
<div><label for="scheme">${s.scheme}</label><select id="scheme" name="scheme">${option('', s.any, search.scheme)}${v.schemes.map((sc) => option(sc.code, schemeTitle(ctx.lang, sc.code, v.schemes), search.scheme))}</select></div>
</div>
<div class="filter-actions"><button type="submit" class="secondary button">${s.apply}</button> <a href="${href(ctx, '/register')}">${s.clear}</a></div>
</details>
</form>`;

  const sectionHtml = (sec: Section) => {
    const kind = sec.kind;
    const title = kindName[kind];
    const single = search.kind !== 'all';
    let table: Html;
    if (sec.items.length === 0) table = html`<p>${s.noResults}</p>`;
    else if (sec.kind === 'certificates') table = certificatesTable(ctx, sec.items, v.schemes);
    else if (sec.kind === 'sandbox') table = sandboxTable(ctx, sec.items);
    else table = genaiTable(ctx, sec.items);
    const pager = single
      ? html`<nav class="pager" aria-label="${s.pagination}">${search.cursor ? html`<a href="${href(ctx, '/register', filterParams)}">${s.firstPage}</a>` : html`<span></span>`}${
          sec.next_cursor ? html`<a rel="next" href="${href(ctx, '/register', { ...filterParams, cursor: sec.next_cursor })}">${s.nextPage}</a>` : ''
        }</nav>`
      : sec.next_cursor
        ? html`<p><a href="${href(ctx, '/register', { ...filterParams, kind, cursor: sec.next_cursor })}">${s.more(title)}</a></p>`
        : '';
    return html`<section class="results" aria-labelledby="h-${kind}" data-kind="${kind}">
<h2 id="h-${kind}">${title}</h2>
${table}
${pager}
</section>`;
  };

  const title = search.q ? s.resultsFor(search.q) : s.searchTitle;
  return layout(ctx, { title, section: 'register', body: html`${form}${search.q ? html`<p class="muted" role="status">${s.resultsFor(search.q)}</p>` : ''}${v.sections.map(sectionHtml)}` });
}

function certificatesTable(ctx: PageContext, items: PublicCertificate[], schemes: SchemeView[]): Html {
  const s = STRINGS[ctx.lang];
  return html`<table class="cards">
<thead><tr><th scope="col">${s.number}</th><th scope="col">${s.status}</th><th scope="col">${s.holder}</th><th scope="col">${s.product}</th><th scope="col">${s.scheme}</th><th scope="col">${s.validUntil}</th></tr></thead>
<tbody>${items.map(
    (c) => html`<tr>
<th scope="row" class="num" data-label="${s.number}"><a href="${href(ctx, `/register/certificates/${encodeURIComponent(c.number)}`)}">${c.number}</a></th>
<td data-label="${s.status}">${certBadge(ctx.lang, c.status)}</td>
<td data-label="${s.holder}">${c.holder.name}</td>
<td data-label="${s.product}">${c.product.name} ${c.product.version}</td>
<td data-label="${s.scheme}">${schemeTitle(ctx.lang, c.scheme, schemes)}</td>
<td data-label="${s.validUntil}">${time(c.valid_until)}</td>
</tr>`,
  )}</tbody>
</table>`;
}

/** From the start to when testing actually ended, once it has; to the planned end while it goes on. */
const testingPeriod = (p: SandboxRegisterEntry) =>
  p.testing_period ? html`${time(p.testing_period.start)} – ${time(p.ended_at ?? p.testing_period.end)}` : '—';

function sandboxTable(ctx: PageContext, items: SandboxRegisterEntry[]): Html {
  const s = STRINGS[ctx.lang];
  return html`<table class="cards">
<thead><tr><th scope="col">${s.number}</th><th scope="col">${s.state}</th><th scope="col">${s.organization}</th><th scope="col">${s.product}</th><th scope="col">${s.testingPeriod}</th></tr></thead>
<tbody>${items.map(
    (p) => html`<tr>
<th scope="row" class="num" data-label="${s.number}"><a href="${href(ctx, `/register/sandbox/${encodeURIComponent(p.number)}`)}">${p.number}</a></th>
<td data-label="${s.state}">${stateBadge(ctx.lang, 'sandbox-cases', p.state)}</td>
<td data-label="${s.organization}">${p.organization.name}</td>
<td data-label="${s.product}">${p.product.name ?? '—'}</td>
<td data-label="${s.testingPeriod}">${testingPeriod(p)}</td>
</tr>`,
  )}</tbody>
</table>`;
}

function genaiTable(ctx: PageContext, items: GenaiRegisterEntry[]): Html {
  const s = STRINGS[ctx.lang];
  return html`<table class="cards">
<thead><tr><th scope="col">${s.number}</th><th scope="col">${s.state}</th><th scope="col">${s.projectTitle}</th><th scope="col">${s.leadOrganization}</th><th scope="col">${s.approved}</th></tr></thead>
<tbody>${items.map(
    (p) => html`<tr>
<th scope="row" class="num" data-label="${s.number}"><a href="${href(ctx, `/register/genai-projects/${encodeURIComponent(p.number)}`)}">${p.number}</a></th>
<td data-label="${s.state}">${stateBadge(ctx.lang, 'genai-projects', p.state)}</td>
<td data-label="${s.projectTitle}">${p.title}</td>
<td data-label="${s.leadOrganization}">${p.lead_organization.name}</td>
<td data-label="${s.approved}">${time(p.approved_at)}</td>
</tr>`,
  )}</tbody>
</table>`;
}

// ---- detail pages -------------------------------------------------------------------------------

const back = (ctx: PageContext) => html`<p><a href="${href(ctx, '/register')}">${STRINGS[ctx.lang].backToRegister}</a></p>`;
const facts = (rows: Array<[string, Html | string]>) => html`<dl class="facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;

/** `verifyBox`: the form that verifies a credential (src/pages/verify-views.ts), shown after the status history. */
export function certificatePage(ctx: PageContext, cert: PublicCertificate, history: PublicStatusChange[], schemes: SchemeView[], now: Date, verifyBox: Html | '' = ''): Html {
  const s = STRINGS[ctx.lang];
  const kind = 'certification-cases';
  const body = html`${back(ctx)}
<h1>${s.certificateHeading(cert.number)}</h1>
<section class="verdict s-${cert.status}" aria-label="${s.status}" data-status="${cert.status}">
<span class="word">${certificateStatusLabels[cert.status][ctx.lang]}</span>
<p>${s.statusSentence[cert.status]}</p>
<p class="muted">${s.statusAsOf} ${time(now.toISOString(), true)}</p>
</section>
<div class="panel">
${facts([
  [s.number, cert.number],
  [s.holder, cert.holder.name],
  [s.product, cert.product.name],
  [s.version, cert.product.version],
  [s.scheme, html`${schemeTitle(ctx.lang, cert.scheme, schemes)} <span class="muted">(${cert.scheme})</span>`],
  [s.lab, cert.lab.name ?? '—'],
  [s.issued, time(cert.issued_at)],
  [s.validUntil, time(cert.valid_until)],
])}
</div>
<h2 id="history">${s.history}</h2>
${
  history.length === 0
    ? html`<p>${s.noHistory}</p>`
    : html`<table class="cards" aria-labelledby="history">
<thead><tr><th scope="col">${s.date}</th><th scope="col">${s.event}</th><th scope="col">${s.status}</th><th scope="col">${s.reason}</th></tr></thead>
<tbody>${history.map(
        (h) => html`<tr>
<td data-label="${s.date}">${time(h.at, true)}</td>
<td data-label="${s.event}">${eventLabel(kind, h.event, ctx.lang)}</td>
<td data-label="${s.status}">${certBadge(ctx.lang, h.status)}</td>
<td data-label="${s.reason}">${h.reason ?? statusChangeLabels[h.event]?.[ctx.lang] ?? '—'}</td>
</tr>`,
      )}</tbody>
</table>`
}
${verifyBox}
<p class="muted"><a href="/v1/register/certificates/${encodeURIComponent(cert.number)}" type="application/json">${s.machineReadable}</a></p>`;
  return layout(ctx, { title: `${s.certificateHeading(cert.number)} · ${certificateStatusLabels[cert.status][ctx.lang]}`, section: 'register', body });
}

export function sandboxPage(ctx: PageContext, p: SandboxRegisterEntry): Html {
  const s = STRINGS[ctx.lang];
  const body = html`${back(ctx)}
<h1>${s.sandboxHeading(p.number)}</h1>
<p>${stateBadge(ctx.lang, 'sandbox-cases', p.state)}</p>
<div class="panel">
${facts([
  [s.number, p.number],
  [s.state, stateLabel('sandbox-cases', p.state, ctx.lang)],
  [s.organization, p.organization.name],
  [s.product, p.product.name ?? '—'],
  [s.testingPeriod, testingPeriod(p)],
])}
</div>`;
  return layout(ctx, { title: s.sandboxHeading(p.number), section: 'register', body });
}

export function genaiPage(ctx: PageContext, p: GenaiProjectPage): Html {
  const s = STRINGS[ctx.lang];
  const body = html`${back(ctx)}
<h1>${s.genaiHeading(p.number)}</h1>
<p>${stateBadge(ctx.lang, 'genai-projects', p.state)}</p>
<div class="panel">
${facts([
  [s.number, p.number],
  [s.projectTitle, p.title],
  [s.state, stateLabel('genai-projects', p.state, ctx.lang)],
  [s.leadOrganization, p.lead_organization.name],
  [s.partners, p.partners.length ? html`<ul>${p.partners.map((x) => html`<li>${x.name} <span class="muted">(${s.region[x.region] ?? x.region})</span></li>`)}</ul>` : '—'],
  [s.researchAreas, p.research_areas.map((a) => s.researchArea[a] ?? a).join(ctx.lang === 'en' ? ', ' : '、')],
  [s.evaluatingLab, p.evaluating_lab?.name ?? '—'],
  [s.approved, time(p.approved_at)],
  [s.completed, time(p.completed_at)],
])}
</div>`;
  return layout(ctx, { title: s.genaiHeading(p.number), section: 'register', body });
}

export function errorPage(ctx: PageContext, opts: { title: string; message: string }): Html {
  return layout(ctx, { title: opts.title, section: null, body: html`<h1>${opts.title}</h1><p>${opts.message}</p>${back(ctx)}` });
}

// ---- /workflows ---------------------------------------------------------------------------------

export type WorkflowDoc = {
  kind: string;
  initial: string;
  states: string[];
  final_states: string[];
  transitions: Array<{ from: string; event: string; to: string; guard: string | null; roles: string[] }>;
  mermaid: string;
  diagram: Html;
};

export function workflowsPage(ctx: PageContext, docs: WorkflowDoc[]): Html {
  const s = STRINGS[ctx.lang];
  const lang = ctx.lang;
  const section = (d: WorkflowDoc) => {
    const title = workflowLabels[d.kind]?.title[lang] ?? d.kind;
    const st = (state: string) => html`${stateLabel(d.kind, state, lang)} <code>${state}</code>`;
    const rows = d.states.map((state) => {
      const out = d.transitions.filter((t) => t.from === state);
      const tags = html`${state === d.initial ? html`<span class="tag">${s.initial}</span>` : ''}${d.final_states.includes(state) ? html`<span class="tag final">${s.final}</span>` : ''}`;
      const head = html`<th scope="rowgroup" rowspan="${Math.max(out.length, 1)}" id="${d.kind}-${state}">${st(state)}${tags}</th>`;
      if (out.length === 0) return html`<tbody><tr>${head}<td colspan="3">—</td></tr></tbody>`;
      return html`<tbody>${out.map(
        (t, i) => html`<tr>${i === 0 ? head : ''}
<td data-label="${s.event}">${eventLabel(d.kind, t.event, lang)} <code>${t.event}</code>${t.guard ? html` <span class="muted">(${s.conditional})</span>` : ''}</td>
<td data-label="${s.roles}" class="roles">${t.roles.map((r) => roleLabels[r as keyof typeof roleLabels]?.[lang] ?? r).join(lang === 'en' ? ', ' : '、')}</td>
<td data-label="${s.to}">${t.to === t.from ? html`<span class="muted">${s.staysInState}</span>` : html`<span class="arrow" aria-hidden="true">→ </span><a href="#${d.kind}-${t.to}">${stateLabel(d.kind, t.to, lang)}</a>`}</td>
</tr>`,
      )}</tbody>`;
    });
    return html`<section aria-labelledby="wf-${d.kind}" id="${d.kind}" data-kind="${d.kind}">
<h2 id="wf-${d.kind}">${title}</h2>
<p>${s.finalStates}${d.final_states.map((f) => stateLabel(d.kind, f, lang)).join(lang === 'en' ? ', ' : '、')}</p>
<figure class="diagram">${d.diagram}<figcaption>${s.diagram}: ${title}</figcaption></figure>
<table class="cards transitions">
<caption>${s.transitionsTable(title)}</caption>
<thead><tr><th scope="col">${s.fromState}</th><th scope="col">${s.event}</th><th scope="col">${s.roles}</th><th scope="col">${s.to}</th></tr></thead>
${rows}
</table>
<details><summary>${s.mermaidSource}</summary><pre><code>${d.mermaid}</code></pre></details>
</section>`;
  };
  const nav = html`<nav aria-label="${s.workflowsTitle}"><ul>${docs.map((d) => html`<li><a href="#${d.kind}">${workflowLabels[d.kind]?.title[lang] ?? d.kind}</a></li>`)}</ul></nav>`;
  return layout(ctx, { title: s.workflowsTitle, section: 'workflows', body: html`<h1>${s.workflowsTitle}</h1><p>${s.workflowsIntro}</p>${nav}${docs.map(section)}` });
}
