// A new case: its number, its initial state, deadlines and first audit event, in one transaction.
import { randomUUID } from 'node:crypto';
import type { Trx } from '../db/types.js';
import { AppError, ruleViolation } from '../errors.js';
import { storeAnswer, type KeyedRequest } from '../idempotency.js';
import type { CaseContext, Deadline, Workflow } from '../../workflows/kit.js';
import { GENESIS_HASH, auditRow, type AuditEventBody } from '../audit/audit.js';
import { lookupIn } from '../registry/lookup.js';
import { actorOf, type Caller } from '../engine/caller.js';
import { caseView, type CaseView } from '../engine/case.js';
import { deadlinesOf, initialSnapshot } from '../engine/machine.js';
import { deadlineMap, deadlineRows } from '../engine/transition.js';
import type { EngineDeps } from './fire.js';

export async function createCase(deps: EngineDeps, wf: Workflow, caller: Caller, application: unknown, keyed?: KeyedRequest<CaseView>): Promise<CaseView> {
  if (caller.role !== 'applicant' || !caller.organization_id) throw new AppError('forbidden', 'only an applicant creates cases');
  const organizationId = caller.organization_id;
  return deps.db.transaction().execute(async (trx) => {
    const lookup = lookupIn(trx);
    const problem = await wf.checkApplication?.(lookup, application, organizationId);
    if (problem) throw ruleViolation('application', problem);
    const now = deps.now();
    const number = await lookup.nextNumber(wf.numberPrefix, now.getUTCFullYear());
    const id = randomUUID();
    const context: CaseContext = { case_id: id, number, organization_id: organizationId, application, record: wf.initialRecord() };
    const snap = initialSnapshot(wf, context);
    const state = String(snap.value);
    const body: AuditEventBody = {
      chain_id: id,
      seq: 1,
      case_id: id,
      kind: wf.kind,
      type: 'CASE_CREATED',
      actor: actorOf(caller),
      from_state: null,
      to_state: state,
      payload: { number, organization_id: organizationId, application },
      facts: null,
      at: now.toISOString(),
    };
    const audit = auditRow(body, GENESIS_HASH);
    const deadlines = deadlinesOf(wf, state, snap.context);
    const row = await trx
      .insertInto('cases')
      .values({
        id,
        kind: wf.kind,
        number,
        state,
        version: 1,
        organization_id: organizationId,
        product_id: wf.productOf(application),
        lab_id: wf.labOf(snap.context),
        application: JSON.stringify(snap.context.application),
        record: JSON.stringify(snap.context.record),
        deadlines: JSON.stringify(deadlineMap(deadlines)),
        audit_seq: 1,
        audit_hash: audit.hash,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.insertInto('audit_events').values(audit).execute();
    await writeDeadlines(trx, id, deadlines);
    const view = caseView(row);
    await storeAnswer(trx, keyed, view);
    return view;
  });
}

async function writeDeadlines(trx: Trx, caseId: string, deadlines: Deadline[]): Promise<void> {
  const due = deadlineRows(caseId, deadlines);
  if (due.length === 0) return;
  await trx.insertInto('deadlines').values(due).execute();
}
