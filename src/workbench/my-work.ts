// My work (SPEC §6): the cases on which this person may fire an event now, most urgent first.
// Which states those are comes from the machines (allowedEvents), never from a list of our own.
import type { FastifyInstance } from 'fastify';
import { sql } from '../db/kysely.js';
import { workflows } from '../../workflows/index.js';
import type { Workflow } from '../../workflows/kit.js';
import { eventLabel, stateLabel, workflowLabels } from '../../workflows/labels.js';
import type { Db } from '../db/types.js';
import { allowedEvents } from '../engine/machine.js';
import type { Caller } from '../engine/caller.js';
import { callerOf } from '../http/plugins/auth.js';
import { decodeCursor, encodeCursor } from '../paging.js';
import { html, type Html } from '../pages/html.js';
import { formatDateTime, type Lang } from '../pages/i18n.js';
import { href } from '../pages/views.js';
import { WB, type WorkbenchStrings } from './i18n.js';
import { wbLayout, type WbContext } from './layout.js';
import { HIDE, requireSession, sendHtml, wbContext } from './http.js';

export const PAGE_SIZE = 25;
const NO_ORG = '00000000-0000-0000-0000-000000000000';

/** For each kind, the states in which this role may fire an event, and those events. */
export function actionable(role: Caller['role']): Array<{ wf: Workflow; state: string; events: string[] }> {
  const caller: Caller = { principal_id: null, role, organization_id: null };
  return workflows.flatMap((wf) =>
    Object.keys(wf.machine.root.states)
      .map((state) => ({ wf, state, events: allowedEvents(wf, state, caller) }))
      .filter((x) => x.events.length > 0),
  );
}

export type WorkItem = { id: string; number: string; kind: string; state: string; updated_at: Date; due: Date | null; report_due: Date | null; deadlines: Record<string, string> };
type Key = { due: string; updated: string; id: string };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const decodeKey = (cursor: string | undefined) =>
  decodeCursor(cursor, ([due, updated, id]) =>
    typeof due === 'string' && (due === 'infinity' || !Number.isNaN(Date.parse(due))) && typeof updated === 'string' && !Number.isNaN(Date.parse(updated)) && typeof id === 'string' && UUID.test(id)
      ? ({ due, updated, id } as Key)
      : undefined,
  );

/**
 * A page of the caller's work: visible cases in a state where the caller's role may act, by their
 * nearest deadline (none last), then the longest unchanged, in keyset pages.
 */
export async function myWork(db: Db, caller: Caller, q: { kind?: string; state?: string; cursor?: string; limit: number }) {
  const after = decodeKey(q.cursor);
  const pairs = actionable(caller.role).filter((x) => (!q.kind || x.wf.kind === q.kind) && (!q.state || x.state === q.state));
  if (pairs.length === 0) return { items: [] as WorkItem[], next_cursor: null };
  const visible =
    caller.role === 'applicant'
      ? sql`and c.organization_id = ${caller.organization_id ?? NO_ORG}`
      : caller.role === 'lab'
        ? sql`and c.lab_id = ${caller.organization_id ?? NO_ORG}`
        : sql``;
  const keyset = after
    ? sql`where (coalesce(least(w.deadline_due, w.report_due), 'infinity'), w.updated_at, w.id) > (${after.due}::timestamptz, ${after.updated}::timestamptz, ${after.id}::uuid)`
    : sql``;
  // A periodic report is owed a month after the last one (or after testing started): a deadline of
  // the applicant's own, where its role may file one now (SUBMIT_REPORT), though no system event fires at it.
  const reporting = pairs.filter((p) => p.events.includes('SUBMIT_REPORT'));
  const reportDue = reporting.length
    ? sql`case when (c.kind, c.state) in (${sql.join(reporting.map((p) => sql`(${p.wf.kind}, ${p.state})`))})
        then (coalesce(c.record->'reports'->>'latest_at', c.record->>'testing_started_at', c.record->'testing_period'->>'start'))::timestamptz + interval '1 month' end`
    : sql`null::timestamptz`;
  const { rows } = await sql<WorkItem>`
    select w.*, least(w.deadline_due, w.report_due) as due from (
      select c.id, c.number, c.kind, c.state, c.updated_at, c.deadlines,
             (select min(d.value::timestamptz) from jsonb_each_text(c.deadlines) d) as deadline_due,
             ${reportDue} as report_due
        from cases c
       where (c.kind, c.state) in (${sql.join(pairs.map((p) => sql`(${p.wf.kind}, ${p.state})`))}) ${visible}
    ) w ${keyset}
    order by coalesce(least(w.deadline_due, w.report_due), 'infinity'), w.updated_at, w.id
    limit ${q.limit + 1}`.execute(db);
  const items = rows.slice(0, q.limit).map((r) => ({ ...r, due: r.due ? new Date(r.due) : null, report_due: r.report_due ? new Date(r.report_due) : null, updated_at: new Date(r.updated_at) }));
  const last = items.at(-1);
  const next = rows.length > q.limit && last ? encodeCursor([last.due ? last.due.toISOString() : 'infinity', last.updated_at.toISOString(), last.id]) : null;
  return { items, next_cursor: next };
}

/** "3 days left", "overdue by 2 hours": the coarsest unit that still says something. */
export function timeLeft(s: WorkbenchStrings, due: Date, now: Date): { text: string; overdue: boolean } {
  const ms = due.getTime() - now.getTime();
  const abs = Math.abs(ms);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.max(1, Math.floor(abs / 60_000));
  const amount = d >= 2 ? s.days(d) : h >= 2 ? s.hours(h) : s.minutes(m);
  return ms >= 0 ? { text: s.timeLeft(amount), overdue: false } : { text: s.overdue(amount), overdue: true };
}

export const dueCell = (lang: Lang, due: Date | null, now: Date): Html => {
  if (!due) return html`—`;
  const left = timeLeft(WB[lang], due, now);
  return html`<time datetime="${due.toISOString()}">${formatDateTime(due)}</time><br><span class="time-left${left.overdue ? ' overdue' : ''}">${left.text}</span>`;
};

function myWorkPage(ctx: WbContext, v: { items: WorkItem[]; next_cursor: string | null; kind: string; state: string; now: Date; role: Caller['role'] }): Html {
  const s = WB[ctx.lang];
  const option = (value: string, label: string, selected: string) => html`<option value="${value}"${value === selected ? html` selected` : ''}>${label}</option>`;
  const kinds = workflows.filter((wf) => actionable(v.role).some((x) => x.wf === wf));
  const filters = html`<form class="panel" method="get" action="/workbench">
${ctx.explicit ? html`<input type="hidden" name="lang" value="${ctx.lang}">` : ''}
<div class="filters">
<div><label for="kind">${s.kind}</label><select id="kind" name="kind">${option('', s.any, v.kind)}${kinds.map((wf) => option(wf.kind, workflowLabels[wf.kind]!.title[ctx.lang], v.kind))}</select></div>
<div><label for="state">${s.state}</label><select id="state" name="state">${option('', s.any, v.state)}${kinds.map(
    (wf) => html`<optgroup label="${workflowLabels[wf.kind]!.title[ctx.lang]}">${actionable(v.role)
      .filter((x) => x.wf === wf)
      .map((x) => option(x.state, stateLabel(wf.kind, x.state, ctx.lang), v.state))}</optgroup>`,
  )}</select></div>
</div>
<div class="filter-actions"><button type="submit">${s.apply}</button> <a href="${href(ctx, '/workbench')}">${s.clear}</a></div>
</form>`;
  const rows = v.items.map((c) => {
    const wf = workflows.find((w) => w.kind === c.kind)!;
    const events = allowedEvents(wf, c.state, { principal_id: null, role: v.role, organization_id: null }).map((e) => eventLabel(c.kind, e, ctx.lang));
    return html`<tr>
<th scope="row" data-label="${s.number}"><a href="${href(ctx, `/workbench/cases/${c.kind}/${c.id}`)}">${c.number}</a><br><span class="muted">${workflowLabels[c.kind]!.title[ctx.lang]}</span></th>
<td data-label="${s.state}"><span class="badge s-state">${stateLabel(c.kind, c.state, ctx.lang)}</span></td>
<td data-label="${s.actions}">${events.join(ctx.lang === 'en' ? ', ' : '、')}</td>
<td data-label="${s.deadline}">${c.report_due && c.due && c.report_due.getTime() === c.due.getTime() ? html`${s.reportDue}<br>` : ''}${dueCell(ctx.lang, c.due, v.now)}</td>
<td data-label="${s.waiting}"><time datetime="${c.updated_at.toISOString()}">${formatDateTime(c.updated_at)}</time></td>
</tr>`;
  });
  const table = v.items.length
    ? html`<table class="cards"><caption>${s.myWorkTitle}</caption><thead><tr><th scope="col">${s.number}</th><th scope="col">${s.state}</th><th scope="col">${s.actions}</th><th scope="col">${s.deadline}</th><th scope="col">${s.waiting}</th></tr></thead><tbody>${rows}</tbody></table>`
    : html`<p class="panel">${s.nothingToDo}</p>`;
  const pager =
    v.next_cursor || ctx.query.cursor
      ? html`<nav class="pager" aria-label="${s.pagination}">${ctx.query.cursor ? html`<a href="${href(ctx, '/workbench', { kind: v.kind, state: v.state, limit: ctx.query.limit })}">${s.firstPage}</a>` : html`<span></span>`}${
          v.next_cursor ? html`<a href="${href(ctx, '/workbench', { kind: v.kind, state: v.state, limit: ctx.query.limit, cursor: v.next_cursor })}" rel="next">${s.nextPage}</a>` : ''
        }</nav>`
      : '';
  const start = v.role === 'applicant' ? html`<p><a class="button" href="${href(ctx, '/workbench/start')}">${s.startLink}</a></p>` : '';
  return wbLayout(ctx, { title: s.myWorkTitle, body: html`<h1>${s.myWorkTitle}</h1><p class="muted">${s.myWorkIntro}</p>${start}${filters}${table}${pager}` });
}

export default async function myWorkRoutes(app: FastifyInstance) {
  app.get('/', { schema: HIDE }, async (request, reply) => {
    const session = requireSession(request, reply);
    if (!session) return reply;
    const ctx = wbContext(request, reply);
    const caller = callerOf(session.principal);
    const kind = workflows.some((wf) => wf.kind === ctx.query.kind) ? ctx.query.kind! : '';
    const state = actionable(caller.role).some((x) => x.state === ctx.query.state && (!kind || x.wf.kind === kind)) ? ctx.query.state! : '';
    const limit = /^([1-9]|[1-9][0-9]|100)$/.test(ctx.query.limit ?? '') ? Number(ctx.query.limit) : PAGE_SIZE;
    const page = await myWork(app.db, caller, { kind: kind || undefined, state: state || undefined, cursor: ctx.query.cursor, limit });
    return sendHtml(reply, ctx, myWorkPage(ctx, { ...page, kind, state, now: app.engine.now(), role: caller.role }));
  });
}
