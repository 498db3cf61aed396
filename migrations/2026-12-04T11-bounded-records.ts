import type { Kysely } from 'kysely';
import { verifyChain } from '../src/audit/audit.js';
import { replayCase, sameJson } from '../src/audit/verify.js';

// Records become bounded (SPEC §2): what accumulates in a case (reports, incidents, retest rounds,
// surveillance findings, evaluations, status changes, …) is no longer a list in its record but a
// count and the time of the latest, the items being read from the case's history. Each stored case
// is replayed through its workflow's machine (workflows/, loaded through the audit verification's
// replay: this is the one migration that may use the machines, since only they know what a record
// holds) and its record replaced by the replayed one, so that a stored record equals a replay exactly.
// The audit chain is not touched: no event is added, rewritten or re-hashed, and a case's version
// stays (the history it counts is the same).
//
// A case whose chain does not verify, or whose replay does not reach its stored state and
// application, stops the migration with its id and the reason (nothing is changed: the migration
// runs in one transaction): a record is never rewritten from a history that is not the case's own.
//
// There is no way back down: the old lists could be rebuilt only by the old machines.
const BATCH = 200;

export async function up(db: Kysely<any>): Promise<void> {
  let after: string | null = null;
  for (;;) {
    let q = db.selectFrom('cases').select(['id', 'kind', 'state', 'number', 'application', 'record', 'audit_seq', 'audit_hash']).orderBy('id').limit(BATCH);
    if (after !== null) q = q.where('id', '>', after);
    const cases = await q.execute();
    if (cases.length === 0) return;
    after = cases.at(-1)!.id as string;
    const events = await db.selectFrom('audit_events').selectAll().where('chain_id', 'in', cases.map((c) => c.id)).orderBy('chain_id').orderBy('seq').execute();
    const byCase = new Map<string, any[]>();
    for (const e of events) (byCase.get(e.chain_id) ?? byCase.set(e.chain_id, []).get(e.chain_id)!).push(e);
    for (const c of cases) {
      const chain = byCase.get(c.id) ?? [];
      const refuse = (seq: number, reason: string) =>
        new Error(`case ${c.id} (${c.number}): ${reason} at seq ${seq}; no record was migrated (run the audit verification, then migrate again)`);
      const ats: string[] = [];
      const broken = verifyChain(chain, ats);
      if (broken) throw refuse(broken.seq, broken.reason);
      const out = replayCase(c, chain, ats);
      if ('reason' in out) throw refuse(out.seq, out.reason);
      const last = chain.at(-1)!;
      if (c.audit_seq !== last.seq || c.audit_hash !== last.hash) throw refuse(last.seq, 'the case row does not point at the last event of its chain');
      if (out.state !== c.state) throw refuse(last.seq, `stored state ${c.state}, replay gives ${out.state}`);
      if (!sameJson(out.context.application ?? null, c.application ?? null)) throw refuse(last.seq, 'stored application differs from the replayed one');
      if (sameJson(out.context.record ?? null, c.record ?? null)) continue;
      await db.updateTable('cases').set({ record: JSON.stringify(out.context.record) }).where('id', '=', c.id).execute();
    }
  }
}

export async function down(): Promise<void> {
  throw new Error('bounded records cannot be migrated back down: the lists they replaced could be rebuilt only by the old machines');
}
