// Firing an event at a case: read it, judge the event (src/engine), write the result in one
// version-checked statement (write.ts); again if the case moved on meanwhile.
import type { Db, Trx } from '../db/types.js';
import { ruleViolation } from '../errors.js';
import type { Schemas } from '../schemas.js';
import type { Workflow } from '../../workflows/kit.js';
import { lookupIn } from '../registry/lookup.js';
import { actorOf, type Caller } from '../engine/caller.js';
import type { CaseRow, FireResult } from '../engine/case.js';
import { contextOf } from '../engine/machine.js';
import { check, checkEventType, prepare, transitionOf, type FireInput, type FireOptions, type PreparedEvent } from '../engine/transition.js';
import { writeEvent, writeEvents, type FiredDeadline } from './write.js';
import type { EventBatcher } from './batcher.js';

export type EngineDeps = {
  db: Db;
  schemas: Schemas;
  now: () => Date;
  /** Concurrent events of different cases share their read and their write (the service sets one). */
  batcher?: EventBatcher;
};

// Optimistic attempts before falling back to a row lock (only reached under heavy contention).
const OPTIMISTIC_ATTEMPTS = 8;

/** An event that needs the registry (facts, or the application check) runs in a locked transaction. */
const needsTransaction = (wf: Workflow, type: string) => Boolean(wf.facts?.[type]) || type === 'REPLACE_APPLICATION';

/**
 * Applies one event: visibility, role, If-Match, state, payload schema, facts, guards; then
 * state, record, deadlines, version + 1 and the chained audit event, atomically. Any refusal
 * throws and nothing is written.
 *
 * Most events take two round trips: read the case, then one statement that updates it only if
 * its version is still the one read and, in the same statement, appends the audit event and
 * rewrites the deadlines. A concurrent change makes that statement touch nothing; the event is
 * then judged again against the new state. With a batcher (the service has one), events that
 * arrive together for different cases share those two round trips (see EventBatcher). Events
 * that must read the registry (facts) run in a transaction holding the case's row lock instead.
 */
export async function fireEvent(deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions = {}): Promise<FireResult> {
  checkEventType(wf, input, opts);
  if (needsTransaction(wf, input.type)) return deps.db.transaction().execute((trx) => fireLocked(trx, deps, wf, caller, caseId, input, opts));
  if (deps.batcher) return deps.batcher.fire({ deps, wf, caller, caseId, input, opts });
  return fireOptimistic(deps, wf, caller, caseId, input, opts);
}

/** Read, judge, version-checked write; again if the case moved on; under a row lock at last. */
export async function fireOptimistic(deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions): Promise<FireResult> {
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const row = await deps.db.selectFrom('cases').selectAll().where('id', '=', caseId).where('kind', '=', wf.kind).executeTakeFirst();
    const prepared = prepare(deps, wf, caller, row, input, opts, null);
    const written = await writeEvent(deps.db, prepared);
    if (written) return written;
  }
  return deps.db.transaction().execute((trx) => fireLocked(trx, deps, wf, caller, caseId, input, opts));
}

/** The same, inside the caller's transaction, holding the case's row lock (the scheduler uses this). */
export async function fireEventIn(trx: Trx, deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions = {}): Promise<FireResult> {
  checkEventType(wf, input, opts);
  return fireLocked(trx, deps, wf, caller, caseId, input, opts);
}

/** fireEventIn once the event type is known to be the workflow's: each check runs once. */
async function fireLocked(trx: Trx, deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions): Promise<FireResult> {
  const row = await trx.selectFrom('cases').selectAll().where('id', '=', caseId).where('kind', '=', wf.kind).forUpdate().executeTakeFirst();
  check(deps, wf, caller, row, input, opts);
  const lookup = lookupIn(trx);
  const payload = input.payload ?? {};
  if (input.type === 'REPLACE_APPLICATION') {
    const problem = await wf.checkApplication?.(lookup, payload, row.organization_id);
    if (problem) throw ruleViolation('application', problem);
  }
  const loader = wf.facts?.[input.type];
  const now = deps.now();
  const facts = loader ? ((await loader(lookup, contextOf(row), { type: input.type, payload, actor: actorOf(caller), at: now.toISOString(), seq: row.audit_seq + 1 })) ?? null) : null;
  const written = await writeEvent(trx, transitionOf(wf, caller, row, input, opts, facts, now));
  if (!written) throw new Error('the locked case changed under its lock');
  return written;
}

// ---- many events at once (the scheduler) -------------------------------------------------------

export type LockedCase = CaseRow;

/**
 * Judges one event against a case row the caller has locked (FOR UPDATE in its transaction) and
 * computes its write; throws the refusal like fireEvent. Needs no facts (the caller checks).
 */
export function prepareLocked(deps: EngineDeps, wf: Workflow, caller: Caller, row: LockedCase, input: FireInput, now: Date): PreparedEvent {
  checkEventType(wf, input, {});
  return prepare(deps, wf, caller, row, input, {}, null, now);
}

/**
 * Writes events prepared against locked cases (one per case) in ONE statement (writeEvents).
 * Throws if any case was not at the version read, so the caller can roll back.
 */
export async function writeLockedEvents(trx: Trx, items: Array<{ prepared: PreparedEvent; fired?: FiredDeadline }>): Promise<void> {
  if (items.length === 0) return;
  const written = await writeEvents(trx, items);
  if (written.size !== items.length) throw new Error(`${items.length - written.size} locked case(s) changed under their lock`);
}
