import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Selectable } from 'kysely';
import { sql } from '../db/kysely.js';
import type { AuditEvents, Cases, Db } from '../db/types.js';
import { workflowByKind } from '../../workflows/index.js';
import type { CaseContext } from '../../workflows/kit.js';
import { REGISTRY_CHAIN, verifyChain } from './audit.js';
import { initialSnapshot, step } from '../engine/machine.js';
import { projectionsOf } from '../engine/transition.js';
import { statusIndexFailures } from './status-lists.js';
import { caseProjectionFailures, orphanFailures, readCaseProjections, readRegistry, registryFailures, type CaseProjections, type VerifyFailure } from './projections.js';
import { verifyLog } from '../transparency/verify-log.js';
import type { NoteVerifier } from '../transparency/note.js';

import { sameJson } from './same-json.js';

export { sameJson };

export type { Subject, VerifyFailure } from './projections.js';
export type VerifyReport = { ok: boolean; cases_checked: number; events_checked: number; failures: VerifyFailure[] };

/** One batch of cases with their chains, deadline rows and register rows, as readCaseBatch gives it. */
export type CaseBatch = { cases: CaseRow[]; byCase: Map<string, EventRow[]>; events: number; projections: CaseProjections };
type CaseRow = Selectable<Cases>;
type EventRow = Selectable<AuditEvents>;
export type BatchResult = Omit<VerifyReport, 'ok'>;

export const noResult = (): BatchResult => ({ cases_checked: 0, events_checked: 0, failures: [] });

/** Adds one batch's counts and failures to a running total (failures keep their order). */
function addTo(total: BatchResult, r: BatchResult): void {
  total.cases_checked += r.cases_checked;
  total.events_checked += r.events_checked;
  for (const f of r.failures) total.failures.push(f);
}

export type VerifyOptions = {
  batchSize?: number;
  /**
   * The database's URL, when it is PostgreSQL: worker threads then read and verify batches of
   * cases on connections of their own (the chains are independent). The embedded database lives in
   * this thread, so it is verified here.
   */
  databaseUrl?: string | null;
  /** Worker threads; default one per core, at most four; 0 verifies in this thread. */
  threads?: number;
  /** Counts the batches verified in worker threads (for tests and benchmarks). */
  stats?: { threadBatches: number };
  /**
   * Reads exactly what verification reads, in the same threads and batches, and checks nothing:
   * the benchmark's baseline for what verifying adds to reading.
   */
  readOnly?: boolean;
  /**
   * The transparency log's verifier keys and origin (SPEC §7): with them, the log is checked against
   * the audit trail and its signed checkpoints (src/transparency/verify-log.ts).
   */
  log?: { verifiers: NoteVerifier[]; origin: string };
};

export function defaultVerifyThreads(): number {
  return Math.min(4, os.availableParallelism());
}

/**
 * Recomputes every hash chain and replays every case's events through its machine; the case row
 * (state, record, application, version, product, lab, deadlines), its deadline rows and its
 * certificate register row must equal what the replay gives, and principals, organizations and
 * products what the registry chain says (projections.ts). Cases are read in batches by id, each
 * batch's rows in one snapshot; failures come in case order whichever thread found them.
 * A registry that fits in one batch is verified in this thread (a thread takes longer to start).
 */
export async function verifyAudit(db: Db, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const batch = opts.batchSize ?? 500;
  const threads = opts.databaseUrl ? (opts.threads ?? defaultVerifyThreads()) : 0;
  const report: VerifyReport = { ok: true, ...noResult() };
  const add = (r: BatchResult) => addTo(report, r);

  const registry = await readRegistry(db);
  report.events_checked += registry.chain.length;
  const regFail = opts.readOnly ? null : verifyChain(registry.chain);
  if (regFail) report.failures.push({ case_id: null, seq: regFail.seq, reason: `registry chain: ${regFail.reason}` });
  if (!opts.readOnly) for (const f of registryFailures(registry, regFail?.seq ?? null)) report.failures.push(f);
  // On PostgreSQL read while the cases are (on another connection of the pool); the embedded
  // database has one connection, read after them. Reported after them either way.
  let orphans = opts.databaseUrl ? orphanFailures(db) : null;
  orphans?.catch(() => {});
  // The transparency log likewise: its leaves are read and its tree rebuilt beside the cases.
  const checkLog = () => (opts.log ? verifyLog(db, { ...opts.log, readOnly: opts.readOnly }) : null);
  const log = opts.databaseUrl ? checkLog() : null;
  log?.catch(() => {});

  const first = threads > 0 ? await caseIdsAfter(db, null, batch) : [];
  if (first.length < batch) {
    for await (const b of readCaseBatches(db, batch)) add(opts.readOnly ? countOf(b) : await verifyBatchHere(b));
  } else {
    const pool = new VerifyPool(threads, opts.databaseUrl!);
    // Results in the order of the ranges; at most two ranges per thread are waiting, so that each
    // thread reads its next batch while it verifies one.
    const pending: Array<Promise<BatchResult>> = [];
    try {
      let ids = first;
      let after: string | null = null;
      while (ids.length > 0) {
        const last = ids.at(-1)!;
        pending.push(pool.run({ after, last }, opts.readOnly === true));
        if (opts.stats) opts.stats.threadBatches++;
        // A rejection is seen when its turn comes; until then it must not count as unhandled.
        pending.at(-1)!.catch(() => {});
        const next = ids.length < batch ? Promise.resolve([]) : caseIdsAfter(db, last, batch);
        after = last;
        while (pending.length >= threads * 2) add(await pending.shift()!);
        ids = await next;
      }
      while (pending.length) add(await pending.shift()!);
    } finally {
      await pool.close();
    }
  }
  for (const f of await (orphans ?? orphanFailures(db))) if (!opts.readOnly) report.failures.push(f);
  // The status lists' indexes in the credentials issued (their bits are the certificates' statuses, checked with the cases).
  if (!opts.readOnly) for (const f of await statusIndexFailures(db)) report.failures.push(f);
  const logReport = await (log ?? checkLog());
  // The log's failures concern no one case or event.
  for (const f of logReport?.failures ?? []) report.failures.push({ case_id: null, seq: 0, ...f });
  report.ok = report.failures.length === 0;
  return report;
}

/** The next `limit` case ids after `after`, in order (the ranges the threads are given). */
async function caseIdsAfter(db: Db, after: string | null, limit: number): Promise<string[]> {
  let q = db.selectFrom('cases').select('id').orderBy('id').limit(limit);
  if (after) q = q.where('id', '>', after);
  return (await q.execute()).map((r) => r.id);
}

/** Verifies one batch in this thread, letting the driver take in the next batch meanwhile. */
async function verifyBatchHere(b: CaseBatch): Promise<BatchResult> {
  const out = noResult();
  for (let i = 0; i < b.cases.length; i += 100) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    addTo(out, verifyBatch({ ...b, cases: b.cases.slice(i, i + 100), events: 0 }));
  }
  return out;
}

/** A batch's counts, nothing checked (readOnly). */
export function countOf(b: CaseBatch): BatchResult {
  return { cases_checked: b.cases.length, events_checked: b.events, failures: [] };
}

/**
 * The whole check of each case of a batch: its chain, its replay against its row, then its deadline
 * and register rows against the replay. Synchronous; the threads run it too.
 */
export function verifyBatch(b: CaseBatch, now = Date.now()): BatchResult {
  const out = noResult();
  for (const c of b.cases) {
    out.cases_checked++;
    const chain = b.byCase.get(c.id) ?? [];
    out.events_checked += chain.length;
    if (chain.length === 0) {
      out.failures.push({ case_id: c.id, seq: 0, reason: 'the case row has no audit events: its chain is gone' });
      continue;
    }
    const ats: string[] = [];
    const fail = verifyChain(chain, ats);
    if (fail) {
      out.failures.push({ case_id: c.id, seq: fail.seq, reason: fail.reason });
      continue;
    }
    const replayed = replayCase(c, chain, ats);
    if ('reason' in replayed) {
      out.failures.push({ case_id: c.id, seq: replayed.seq, reason: replayed.reason });
      continue;
    }
    const wf = workflowByKind.get(c.kind)!; // replayCase found it
    const projected = projectionsOf(wf, replayed.state, replayed.context);
    const rowFail = compareRow(c, chain, replayed, projected);
    if (rowFail) out.failures.push({ case_id: c.id, ...rowFail });
    const stored = { deadlines: b.projections.deadlines.get(c.id) ?? [], certificate: b.projections.certificates.get(c.id) };
    for (const f of caseProjectionFailures(wf, c, chain, replayed, projected, stored, now)) out.failures.push(f);
  }
  return out;
}

export type CaseRange = { after: string | null; last: string };

/** Worker threads (verify-worker.mjs), each reading and verifying the id ranges it is sent on its own connection. */
class VerifyPool {
  private readonly workers: Array<{ worker: Worker; busy: number; exited: boolean }> = [];
  private readonly waiting = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | null = null;

  constructor(n: number, databaseUrl: string) {
    const file = new URL('./verify-worker.mjs', import.meta.url);
    for (let i = 0; i < n; i++) {
      const slot = { worker: new Worker(file, { workerData: { databaseUrl } }), busy: 0, exited: false };
      slot.worker.on('message', (m: { id: number; result?: BatchResult; error?: string }) => {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        slot.busy--;
        if (m.result) w.resolve(m.result);
        else w.reject(new Error(`audit verification thread: ${m.error}`));
      });
      const fail = (e: Error) => {
        this.failed ??= e;
        for (const [id, w] of this.waiting) {
          this.waiting.delete(id);
          w.reject(e);
        }
      };
      slot.worker.on('error', fail);
      slot.worker.on('exit', (code) => {
        slot.exited = true;
        fail(new Error(`audit verification thread stopped (exit code ${code})`));
      });
      this.workers.push(slot);
    }
  }

  run(range: CaseRange, readOnly: boolean): Promise<BatchResult> {
    if (this.failed) return Promise.reject(this.failed);
    const slot = this.workers.reduce((a, w) => (w.busy < a.busy ? w : a));
    const id = this.nextId++;
    slot.busy++;
    return new Promise<BatchResult>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      slot.worker.postMessage({ id, range, readOnly });
    });
  }

  /** Each thread closes its connections and ends; one that does not within 5 s is stopped. */
  async close(): Promise<void> {
    this.failed ??= new Error('audit verification pool closed');
    await Promise.all(
      this.workers.map(async ({ worker, exited }) => {
        if (exited) return;
        const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ close: true });
        const timer = setTimeout(() => void worker.terminate(), 5000);
        await ended;
        clearTimeout(timer);
      }),
    );
  }
}

/**
 * The cases after `after` (up to `last`, or `limit` of them) with their audit chains, read in one
 * repeatable-read snapshot: an event committed between the two reads would otherwise make a sound
 * case look broken.
 */
export async function readCaseBatch(db: Db, range: { after: string | null; last?: string; limit?: number }): Promise<CaseBatch | null> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      let q = trx.selectFrom('cases').selectAll().orderBy('id');
      if (range.after) q = q.where('id', '>', range.after);
      if (range.last) q = q.where('id', '<=', range.last);
      if (range.limit) q = q.limit(range.limit);
      const cases = await q.execute();
      if (cases.length === 0) return null;
      const events = await trx
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
      const projections = await readCaseProjections(trx, cases.map((c) => c.id));
      return { cases, byCase, events: events.length, projections };
    });
}

/**
 * Every case with its audit chain, in batches of cases by id: exactly the rows verification reads.
 * The next batch is read while the caller works on this one, so the database and the hashing
 * overlap instead of taking turns.
 */
export async function* readCaseBatches(db: Db, batch: number) {
  let next = readCaseBatch(db, { after: null, limit: batch });
  for (;;) {
    const current = await next;
    if (!current) return;
    next = readCaseBatch(db, { after: current.cases.at(-1)!.id, limit: batch });
    // A reader that stops early must not leave the prefetch's rejection unhandled.
    next.catch(() => {});
    yield current;
  }
}

/**
 * Replays a case's chain through its workflow's machine from the record a new case starts with:
 * the state and context its events lead to, or where and why replay failed. `ats` are the events'
 * times as hashed (verifyChain gives them). Verification compares the outcome with the stored case;
 * the migration to bounded records (migrations/2026-12-04T11-bounded-records.ts) stores it.
 */
export function replayCase(c: Pick<CaseRow, 'id' | 'kind'>, chain: ReplayedEvent[], ats: string[]): Replayed | { seq: number; reason: string } {
  const wf = workflowByKind.get(c.kind);
  if (!wf) return { seq: 0, reason: `unknown kind ${c.kind}` };
  const first = chain[0];
  if (!first || first.type !== 'CASE_CREATED') return { seq: first?.seq ?? 0, reason: 'history does not start with CASE_CREATED' };
  const created = first.payload as { number: string; organization_id: string; application: unknown };
  const context: CaseContext = { case_id: c.id, number: created.number, organization_id: created.organization_id, application: created.application, record: wf.initialRecord() };
  let snap = initialSnapshot(wf, context);
  if (String(snap.value) !== first.to_state) return { seq: first.seq, reason: `replay starts in ${String(snap.value)}, history says ${first.to_state}` };
  for (let i = 1; i < chain.length; i++) {
    const e = chain[i]!;
    if (String(snap.value) !== e.from_state) return { seq: e.seq, reason: `replay is in ${String(snap.value)}, event says from ${e.from_state}` };
    // The event as the engine built it (bodyOfRow's fields), without the rest of the audit body.
    const actor = { principal_id: e.actor_principal_id, role: e.actor_role };
    const next = step(wf, snap, { type: e.type, payload: e.payload, actor: actor as never, at: ats[i]!, seq: e.seq, facts: e.facts ?? null });
    if ('violation' in next) return { seq: e.seq, reason: `replay refused the event: ${next.violation.message}` };
    snap = next;
    if (String(snap.value) !== e.to_state) return { seq: e.seq, reason: `replay reached ${String(snap.value)}, event says ${e.to_state}` };
  }
  return { state: String(snap.value), context: snap.context as CaseContext, created };
}

type ReplayedEvent = Pick<EventRow, 'seq' | 'type' | 'payload' | 'facts' | 'actor_principal_id' | 'actor_role' | 'from_state' | 'to_state'>;
type Replayed = { state: string; context: CaseContext; created: { number: string; organization_id: string } };

/** The stored case row against its replay and what the engine derives from it (projectionsOf). */
function compareRow(c: CaseRow, chain: EventRow[], out: Replayed, projected: ReturnType<typeof projectionsOf>): { seq: number; reason: string } | null {
  const last = chain.at(-1)!; // chain[0] is there (replayCase checked)
  if (c.audit_seq !== last.seq || c.audit_hash !== last.hash) return { seq: last.seq, reason: 'the case row does not point at the last event of its chain' };
  if (out.state !== c.state) return { seq: last.seq, reason: `stored state ${c.state}, replay gives ${out.state}` };
  if (!sameJson(out.context.record ?? null, c.record ?? null)) return { seq: last.seq, reason: 'stored record differs from the replayed one' };
  if (!sameJson(out.context.application ?? null, c.application ?? null)) return { seq: last.seq, reason: 'stored application differs from the replayed one' };
  if (out.created.number !== c.number || out.created.organization_id !== c.organization_id) return { seq: chain[0]!.seq, reason: 'stored number or organization differs from CASE_CREATED' };
  // Every event adds one to the version the case was created at (1): it counts the chain.
  if (c.version !== chain.length) return { seq: last.seq, reason: `stored version ${c.version}, the chain's ${chain.length} events give ${chain.length}` };
  if (c.lab_id !== projected.labId) return { seq: last.seq, reason: `stored lab_id ${c.lab_id}, replay gives ${projected.labId}` };
  if (c.product_id !== projected.productId) return { seq: last.seq, reason: `stored product_id ${c.product_id}, replay gives ${projected.productId}` };
  if (!sameJson(projected.deadlineMap, c.deadlines ?? {})) return { seq: last.seq, reason: 'stored deadlines differ from the replayed ones' };
  return null;
}
