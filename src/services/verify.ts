import canonicalizeModule from 'canonicalize';
import type { DbOrTrx } from '../db/types.js';
import { workflowByKind } from '../../workflows/index.js';
import type { CaseContext } from '../../workflows/kit.js';
import { REGISTRY_CHAIN, bodyOfRow, readChain, verifyChain } from './audit.js';
import { initialSnapshot, step } from './engine.js';

const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;
const same = (a: unknown, b: unknown) => canonicalize(JSON.parse(JSON.stringify(a ?? null))) === canonicalize(JSON.parse(JSON.stringify(b ?? null)));

export type VerifyReport = { ok: boolean; cases_checked: number; events_checked: number; failures: Array<{ case_id: string | null; seq: number; reason: string }> };

/**
 * Recomputes every hash chain and replays every case's events through its machine; the state,
 * record and application rebuilt must equal what is stored. Cases are read in batches.
 */
export async function verifyAudit(db: DbOrTrx, opts: { batchSize?: number } = {}): Promise<VerifyReport> {
  const batch = opts.batchSize ?? 500;
  const report: VerifyReport = { ok: true, cases_checked: 0, events_checked: 0, failures: [] };

  const registry = await readChain(db, REGISTRY_CHAIN);
  report.events_checked += registry.length;
  const regFail = verifyChain(registry as never);
  if (regFail) report.failures.push({ case_id: null, seq: regFail.seq, reason: `registry chain: ${regFail.reason}` });

  let afterId: string | null = null;
  for (;;) {
    let q = db.selectFrom('cases').selectAll().orderBy('id').limit(batch);
    if (afterId) q = q.where('id', '>', afterId);
    const cases = await q.execute();
    if (cases.length === 0) break;
    afterId = cases.at(-1)!.id;
    const events = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('chain_id', 'in', cases.map((c) => c.id))
      .orderBy('chain_id')
      .orderBy('seq')
      .execute();
    const byCase = new Map<string, typeof events>();
    for (const e of events) {
      const list = byCase.get(e.chain_id) ?? [];
      list.push(e);
      byCase.set(e.chain_id, list);
    }
    for (const c of cases) {
      report.cases_checked++;
      const chain = byCase.get(c.id) ?? [];
      report.events_checked += chain.length;
      const fail = verifyChain(chain as never);
      if (fail) {
        report.failures.push({ case_id: c.id, seq: fail.seq, reason: fail.reason });
        continue;
      }
      const replayFail = replay(c, chain);
      if (replayFail) report.failures.push({ case_id: c.id, ...replayFail });
    }
  }
  report.ok = report.failures.length === 0;
  return report;
}

function replay(c: { id: string; kind: string; state: string; number: string; organization_id: string; application: unknown; record: unknown; audit_seq: number; audit_hash: string }, chain: any[]): { seq: number; reason: string } | null {
  const wf = workflowByKind.get(c.kind);
  if (!wf) return { seq: 0, reason: `unknown kind ${c.kind}` };
  const first = chain[0];
  if (!first || first.type !== 'CASE_CREATED') return { seq: first?.seq ?? 0, reason: 'history does not start with CASE_CREATED' };
  const created = first.payload as { number: string; organization_id: string; application: unknown };
  const context: CaseContext = { case_id: c.id, number: created.number, organization_id: created.organization_id, application: created.application, record: wf.initialRecord() };
  let snap = initialSnapshot(wf, context);
  if (String(snap.value) !== first.to_state) return { seq: first.seq, reason: `replay starts in ${String(snap.value)}, history says ${first.to_state}` };
  for (const e of chain.slice(1)) {
    const body = bodyOfRow(e);
    if (String(snap.value) !== e.from_state) return { seq: e.seq, reason: `replay is in ${String(snap.value)}, event says from ${e.from_state}` };
    const next = step(wf, snap, { type: body.type, payload: body.payload, actor: body.actor as never, at: body.at, seq: body.seq, facts: body.facts ?? null });
    if ('violation' in next) return { seq: e.seq, reason: `replay refused the event: ${next.violation.message}` };
    snap = next;
    if (String(snap.value) !== e.to_state) return { seq: e.seq, reason: `replay reached ${String(snap.value)}, event says ${e.to_state}` };
  }
  const last = chain.at(-1);
  if (c.audit_seq !== last.seq || c.audit_hash !== last.hash) return { seq: last.seq, reason: 'the case row does not point at the last event of its chain' };
  if (String(snap.value) !== c.state) return { seq: last.seq, reason: `stored state ${c.state}, replay gives ${String(snap.value)}` };
  const ctx = snap.context as CaseContext;
  if (!same(ctx.record, c.record)) return { seq: last.seq, reason: 'stored record differs from the replayed one' };
  if (!same(ctx.application, c.application)) return { seq: last.seq, reason: 'stored application differs from the replayed one' };
  if (created.number !== c.number || created.organization_id !== c.organization_id) return { seq: first.seq, reason: 'stored number or organization differs from CASE_CREATED' };
  return null;
}
