import { sql } from 'kysely';
import type { DbOrTrx } from '../db/types.js';
import { workflowByKind } from '../../workflows/index.js';
import type { CaseContext } from '../../workflows/kit.js';
import { REGISTRY_CHAIN, readChain, verifyChain } from './audit.js';
import { initialSnapshot, step } from './engine.js';

/** Equal as JSON documents: key order aside, undefined members as absent, toJSON() honoured. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a !== null && typeof a === 'object' && typeof (a as { toJSON?: unknown }).toJSON === 'function') return sameJson((a as { toJSON(): unknown }).toJSON(), b);
  if (b !== null && typeof b === 'object' && typeof (b as { toJSON?: unknown }).toJSON === 'function') return sameJson(a, (b as { toJSON(): unknown }).toJSON());
  if (a === undefined) return b === null || b === undefined;
  if (b === undefined) return a === null;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i] ?? null, bb[i] ?? null)) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let n = 0;
  for (const k in ao) {
    if (ao[k] === undefined) continue;
    n++;
    if (!Object.prototype.hasOwnProperty.call(bo, k) || !sameJson(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (bo[k] !== undefined) n--;
  return n === 0;
}

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

  for await (const { cases, byCase } of readCaseBatches(db, batch)) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      // Let the driver take in the next batch meanwhile, so the database keeps sending.
      if (i % 100 === 99) await new Promise<void>((resolve) => setImmediate(resolve));
      report.cases_checked++;
      const chain = byCase.get(c.id) ?? [];
      report.events_checked += chain.length;
      const ats: string[] = [];
      const fail = verifyChain(chain as never, ats);
      if (fail) {
        report.failures.push({ case_id: c.id, seq: fail.seq, reason: fail.reason });
        continue;
      }
      const replayFail = replay(c, chain, ats);
      if (replayFail) report.failures.push({ case_id: c.id, ...replayFail });
    }
  }
  report.ok = report.failures.length === 0;
  return report;
}

/**
 * Every case with its audit chain, in batches of cases by id: exactly the rows verification reads.
 * The next batch is read while the caller works on this one, so the database and the hashing
 * overlap instead of taking turns.
 */
export async function* readCaseBatches(db: DbOrTrx, batch: number) {
  const read = async (afterId: string | null) => {
    let q = db.selectFrom('cases').selectAll().orderBy('id').limit(batch);
    if (afterId) q = q.where('id', '>', afterId);
    const cases = await q.execute();
    if (cases.length === 0) return null;
    const events = await db
      .selectFrom('audit_events')
      .selectAll()
      .where(sql<boolean>`chain_id = any(${cases.map((c) => c.id)}::text[])`)
      .orderBy('chain_id')
      .orderBy('seq')
      .execute();
    const byCase = new Map<string, typeof events>();
    for (const e of events) {
      const list = byCase.get(e.chain_id);
      if (list) list.push(e);
      else byCase.set(e.chain_id, [e]);
    }
    return { cases, byCase, events: events.length };
  };
  let next = read(null);
  for (;;) {
    const current = await next;
    if (!current) return;
    next = read(current.cases.at(-1)!.id);
    // A reader that stops early must not leave the prefetch's rejection unhandled.
    next.catch(() => {});
    yield current;
  }
}

function replay(c: { id: string; kind: string; state: string; number: string; organization_id: string; application: unknown; record: unknown; audit_seq: number; audit_hash: string }, chain: any[], ats: string[]): { seq: number; reason: string } | null {
  const wf = workflowByKind.get(c.kind);
  if (!wf) return { seq: 0, reason: `unknown kind ${c.kind}` };
  const first = chain[0];
  if (!first || first.type !== 'CASE_CREATED') return { seq: first?.seq ?? 0, reason: 'history does not start with CASE_CREATED' };
  const created = first.payload as { number: string; organization_id: string; application: unknown };
  const context: CaseContext = { case_id: c.id, number: created.number, organization_id: created.organization_id, application: created.application, record: wf.initialRecord() };
  let snap = initialSnapshot(wf, context);
  if (String(snap.value) !== first.to_state) return { seq: first.seq, reason: `replay starts in ${String(snap.value)}, history says ${first.to_state}` };
  for (let i = 1; i < chain.length; i++) {
    const e = chain[i];
    if (String(snap.value) !== e.from_state) return { seq: e.seq, reason: `replay is in ${String(snap.value)}, event says from ${e.from_state}` };
    // The event as the engine built it (bodyOfRow's fields), without the rest of the audit body.
    const actor = { principal_id: e.actor_principal_id, role: e.actor_role };
    const next = step(wf, snap, { type: e.type, payload: e.payload, actor: actor as never, at: ats[i]!, seq: e.seq, facts: e.facts ?? null });
    if ('violation' in next) return { seq: e.seq, reason: `replay refused the event: ${next.violation.message}` };
    snap = next;
    if (String(snap.value) !== e.to_state) return { seq: e.seq, reason: `replay reached ${String(snap.value)}, event says ${e.to_state}` };
  }
  const last = chain.at(-1);
  if (c.audit_seq !== last.seq || c.audit_hash !== last.hash) return { seq: last.seq, reason: 'the case row does not point at the last event of its chain' };
  if (String(snap.value) !== c.state) return { seq: last.seq, reason: `stored state ${c.state}, replay gives ${String(snap.value)}` };
  const ctx = snap.context as CaseContext;
  if (!sameJson(ctx.record ?? null, c.record ?? null)) return { seq: last.seq, reason: 'stored record differs from the replayed one' };
  if (!sameJson(ctx.application ?? null, c.application ?? null)) return { seq: last.seq, reason: 'stored application differs from the replayed one' };
  if (created.number !== c.number || created.organization_id !== c.organization_id) return { seq: first.seq, reason: 'stored number or organization differs from CASE_CREATED' };
  return null;
}
