// Reading cases: one case, its audit history, a kind's list, each as the caller may see it.
import type { DbOrTrx } from '../db/types.js';
import { notFound } from '../errors.js';
import type { Workflow } from '../../workflows/kit.js';
import { canSee, type Caller } from '../engine/caller.js';
import { auditEventView, caseView, type CaseView } from '../engine/case.js';
import { afterKeyset, decodeKeyset, toPage } from '../paging.js';

const NO_ORG = '00000000-0000-0000-0000-000000000000';

export async function getCase(db: DbOrTrx, wf: Workflow, caller: Caller, id: string): Promise<CaseView> {
  const row = await db.selectFrom('cases').selectAll().where('id', '=', id).where('kind', '=', wf.kind).executeTakeFirst();
  if (!row || !canSee(row, caller)) throw notFound('case');
  return caseView(row);
}

export async function caseHistory(db: DbOrTrx, wf: Workflow, caller: Caller, id: string) {
  await getCase(db, wf, caller, id);
  const rows = await db.selectFrom('audit_events').selectAll().where('chain_id', '=', id).orderBy('seq').execute();
  return rows.map(auditEventView);
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
