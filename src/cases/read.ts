// Reading cases: one case, its audit history, a kind's list, each as the caller may see it.
import type { CompiledQuery, Selectable } from 'kysely';
import { sql } from '../db/kysely.js';
import type { AuditEvents, DbOrTrx } from '../db/types.js';
import { AppError, notFound } from '../errors.js';
import type { Workflow } from '../../workflows/kit.js';
import { canSee, type Caller } from '../engine/caller.js';
import { auditEventView, caseView, type AuditEventView, type CaseView } from '../engine/case.js';
import { logIndexes } from '../transparency/log.js';
import { afterKeyset, decodeCursor, decodeKeyset, encodeCursor, toPage, type Page } from '../paging.js';

const NO_ORG = '00000000-0000-0000-0000-000000000000';

export async function getCase(db: DbOrTrx, wf: Workflow, caller: Caller, id: string): Promise<CaseView> {
  const row = await db.selectFrom('cases').selectAll().where('id', '=', id).where('kind', '=', wf.kind).executeTakeFirst();
  if (!row || !canSee(row, caller)) throw notFound('case');
  return caseView(row);
}

export type HistoryQuery = { type?: string; limit: number; cursor?: string };

/** The types a case's history may hold: its creation and every event of its workflow (system and internal ones included). */
export const historyTypes = (wf: Workflow): string[] => ['CASE_CREATED', ...Object.keys(wf.events)];

/** A history cursor holds the last event's seq. */
const decodeSeq = (cursor: string | undefined) =>
  decodeCursor(cursor, ([seq]) => (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1 ? seq : undefined));

/** The types a `type=` filter names, or a 400 naming query/type for one that is not an event of the kind. */
function typesOf(wf: Workflow, type: string | undefined): string[] | null {
  if (type === undefined) return null;
  const types = [...new Set(type.split(','))];
  const known = new Set(historyTypes(wf));
  const unknown = types.filter((t) => !known.has(t));
  if (unknown.length === 0) return types;
  const what = unknown.length === 1 ? 'an event' : 'events';
  throw new AppError('validation_failed', `${unknown.join(', ')}: not ${what} of ${wf.kind}`, {
    errors: [{ path: 'query/type', message: `names ${unknown.join(', ')}, not ${what} of ${wf.kind}` }],
  });
}

/**
 * The statement that reads a page of a chain's events after `after`, in seq order: all of them, or
 * of one type, is one index range read; of several types, the first `limit` of each type from its
 * own index range, then the first `limit` of those, so a page reads at most `limit` rows per type and
 * never the case's other events (an `in` filter is planned as a walk of the whole chain in seq order
 * once the asked-for types are rare in it).
 */
export function historyStatement(db: DbOrTrx, chain: string, types: string[] | null, after: number, limit: number): CompiledQuery<Selectable<AuditEvents>> {
  if (types && types.length > 1) {
    return sql<Selectable<AuditEvents>>`
      select e.* from unnest(${types}::text[]) as t(type)
      cross join lateral (
        select * from audit_events a where a.chain_id = ${chain} and a.type = t.type and a.seq > ${after} order by a.seq limit ${limit}
      ) e
      order by e.seq limit ${limit}`.compile(db);
  }
  let query = db.selectFrom('audit_events').selectAll().where('chain_id', '=', chain).where('seq', '>', after);
  if (types) query = query.where('type', '=', types[0]!);
  return query.orderBy('seq').limit(limit).compile();
}

/**
 * A case's audit history, oldest first, in keyset pages by seq, optionally only some event types
 * (`type=SUBMIT_REPORT,REPORT_INCIDENT`): what accumulates in a case (reports, incidents, findings,
 * …) is read here, not kept in its record. Served by the (chain_id, type, seq) and (chain_id, seq)
 * indexes, whatever the length of the history.
 */
export async function caseHistory(db: DbOrTrx, wf: Workflow, caller: Caller, id: string, q: HistoryQuery): Promise<Page<AuditEventView>> {
  const types = typesOf(wf, q.type);
  const after = decodeSeq(q.cursor);
  await getCase(db, wf, caller, id);
  const { rows } = await db.executeQuery(historyStatement(db, id, types, after ?? 0, q.limit + 1));
  const items = rows.slice(0, q.limit);
  const last = items.at(-1);
  const indexes = await logIndexes(db, items.map((r) => String(r.id)));
  return { items: items.map((r) => auditEventView(r, indexes.get(String(r.id)))), next_cursor: rows.length > q.limit && last ? encodeCursor([last.seq]) : null };
}

export type CaseListQuery = { state?: string; organization_id?: string; product_id?: string; limit: number; cursor?: string } & Record<string, unknown>;

/** A kind's cases visible to the caller, oldest first, in keyset pages. */
export async function listCases(db: DbOrTrx, wf: Workflow, caller: Caller, q: CaseListQuery, now: Date) {
  const after = decodeKeyset(q.cursor);
  let query = db.selectFrom('cases').selectAll().where('kind', '=', wf.kind);
  if (caller.role === 'applicant') query = query.where('organization_id', '=', caller.organization_id ?? NO_ORG);
  else if (caller.role === 'lab') query = query.where('lab_id', '=', caller.organization_id ?? NO_ORG);
  if (q.state) query = query.where('state', '=', q.state);
  if (q.organization_id) query = query.where('organization_id', '=', q.organization_id);
  if (q.product_id) query = query.where('product_id', '=', q.product_id);
  if (wf.applyListFilters) query = wf.applyListFilters(query, q, now) as typeof query;
  if (after) query = query.where((eb) => afterKeyset(eb, after));
  const rows = await query.orderBy('created_at').orderBy('id').limit(q.limit + 1).execute();
  return toPage(rows as never[], q.limit, caseView as never);
}
