// What an event does to a case, computed without I/O: the refusals in the order the SPEC judges
// them, then the machine's step, the deadlines it sets and the chained audit row. The case
// persistence (src/cases) reads the row before and writes the result after.
import { AppError, notFound, ruleViolation, validationFailed } from '../errors.js';
import type { Schemas } from '../schemas.js';
import type { KeyedRequest } from '../idempotency.js';
import type { CaseContext, CaseEvent, CertificateStatus, Deadline, IssuedCertificate, Workflow } from '../../workflows/kit.js';
import { auditRow, type AuditEventBody } from '../audit/audit.js';
import { actorOf, canSee, type Caller } from './caller.js';
import { allowedEvents, contextOf, deadlinesOf, resolveSnapshot, stateNode, step } from './machine.js';
import { auditEventView, caseView, type CaseRow, type FireResult } from './case.js';

/** What judging needs: the payload schemas and the clock. */
export type JudgeDeps = { schemas: Schemas; now: () => Date };

export type FireInput = { type: string; payload?: unknown };
export type FireOptions = {
  ifMatch?: number;
  allowInternal?: boolean;
  /** The request's Idempotency-Key: written with its answer by the event's own statement. */
  idempotency?: KeyedRequest<FireResult>;
};

/** An event judged against the case row read, with everything its write needs. */
export type PreparedEvent = {
  row: CaseRow;
  state: string;
  ctx: CaseContext;
  /** The case's product and lab after the event, as the workflow derives them. */
  productId: string | null;
  labId: string | null;
  audit: ReturnType<typeof auditRow>;
  deadlines: Deadline[];
  deadlineMap: Record<string, string>;
  deadlinesChanged: boolean;
  /** The certificate the case holds after the event, with the status its state means: its register row is written with the case. */
  certificate: (IssuedCertificate & { status: CertificateStatus }) | null;
  now: Date;
  payload: unknown;
  wf: Workflow;
  keyed: KeyedRequest<FireResult> | undefined;
  /** The answer, once built: the one stored with an Idempotency-Key is the one sent. */
  result?: FireResult;
};

export const deadlineMap = (ds: Deadline[]) => Object.fromEntries(ds.map((d) => [d.name, new Date(d.at).toISOString()]));

// Key order aside: the stored map comes back from jsonb, which orders keys its own way.
const sameDeadlines = (a: Record<string, string>, b: Record<string, string>) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b ?? {}).length && keys.every((k) => a[k] === b[k]);
};

/** An event type the workflow does not declare (or an internal one from outside) is a 400. */
export function checkEventType(wf: Workflow, input: FireInput, opts: FireOptions) {
  const spec = wf.events[input.type];
  if (!spec || (spec.internal && !opts.allowInternal)) {
    throw validationFailed([{ path: 'body/type', message: `is not an event of ${wf.kind}` }]);
  }
}

/** The refusals that need no registry look-up, in the order the SPEC's errors are judged. */
export function check(deps: JudgeDeps, wf: Workflow, caller: Caller, row: CaseRow | undefined, input: FireInput, opts: FireOptions): asserts row is CaseRow {
  const spec = wf.events[input.type]!;
  if (!row || !canSee(row, caller)) throw notFound('case');
  if (!spec.roles.includes(caller.role)) throw new AppError('forbidden', `${caller.role} may not fire ${input.type}`);
  if (opts.ifMatch !== undefined && opts.ifMatch !== row.version) {
    throw new AppError('version_mismatch', `If-Match names version ${opts.ifMatch}, the case is at version ${row.version}`, { version: row.version });
  }
  if (!stateNode(wf.machine, row.state)?.transitions.has(input.type)) {
    // The draft edit is PATCH to the caller: its internal event's name means nothing to them.
    const detail =
      input.type === 'REPLACE_APPLICATION'
        ? `the application can only be edited while the case is a draft; this case is ${row.state}`
        : `${input.type} is not allowed in state ${row.state}`;
    throw new AppError('invalid_transition', detail, {
      state: row.state,
      allowed_events: allowedEvents(wf, row.state, caller),
    });
  }
  const payload = input.payload ?? {};
  if (spec.payload) {
    const errors = deps.schemas.check(`${wf.schemaDir}/events/${input.type}.json`, payload, spec.internal ? 'body' : 'body/payload');
    if (errors.length) throw validationFailed(errors);
  } else if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || Object.keys(payload).length > 0) {
    throw validationFailed([{ path: 'body/payload', message: `${input.type} takes no payload` }]);
  }
}

/** Judges the event against the row read (check, then the machine) and computes its write. */
export function prepare(deps: JudgeDeps, wf: Workflow, caller: Caller, row: CaseRow | undefined, input: FireInput, opts: FireOptions, facts: unknown, now = deps.now()): PreparedEvent {
  check(deps, wf, caller, row, input, opts);
  return transitionOf(wf, caller, row, input, opts, facts, now);
}

/** What an event that passed check() does: the machine's step (its guards may still refuse), deadlines, audit row. */
export function transitionOf(wf: Workflow, caller: Caller, row: CaseRow, input: FireInput, opts: FireOptions, facts: unknown, now: Date): PreparedEvent {
  const payload = input.payload ?? {};
  const event: CaseEvent = { type: input.type, payload, actor: actorOf(caller), at: now.toISOString(), seq: row.audit_seq + 1, facts };
  const next = step(wf, resolveSnapshot(wf, row.state, contextOf(row)), event);
  if ('violation' in next) throw ruleViolation(next.violation.rule, next.violation.said);
  const state = String(next.value);
  const ctx = next.context as CaseContext;
  const projected = projectionsOf(wf, state, ctx);
  const body: AuditEventBody = {
    chain_id: row.id,
    seq: event.seq,
    case_id: row.id,
    kind: wf.kind,
    type: input.type,
    actor: event.actor,
    from_state: row.state,
    to_state: state,
    payload,
    facts,
    at: event.at,
  };
  return {
    row,
    state,
    ctx,
    ...projected,
    audit: auditRow(body, row.audit_hash),
    deadlinesChanged: !sameDeadlines(projected.deadlineMap, row.deadlines),
    now,
    payload,
    wf,
    keyed: opts.idempotency,
  };
}

/**
 * What a case in `state` with `ctx` projects beyond its state and context: its product, its lab, its
 * deadlines and the certificate it holds. The engine writes these with each event; the audit
 * verification derives them from the replay with this same function and compares.
 */
export function projectionsOf(wf: Workflow, state: string, ctx: CaseContext): Pick<PreparedEvent, 'productId' | 'labId' | 'deadlines' | 'deadlineMap' | 'certificate'> {
  const deadlines = deadlinesOf(wf, state, ctx);
  return { productId: wf.productOf(ctx.application), labId: wf.labOf(ctx), deadlines, deadlineMap: deadlineMap(deadlines), certificate: certificateOf(wf, state, ctx) };
}

/** The deadline rows the scheduler fires from: the deadlines that name an event. */
export const deadlineRows = (caseId: string, deadlines: Deadline[]) =>
  deadlines.filter((d) => d.event).map((d) => ({ case_id: caseId, name: d.name, event_type: d.event!, due_at: new Date(d.at).toISOString() }));

/** The certificate register's row of a case (names aside: they are copied from the registry), or null when it holds none. */
export function certificateRowOf(row: Pick<CaseRow, 'id' | 'organization_id'>, state: string, p: Pick<PreparedEvent, 'certificate' | 'productId' | 'labId'>) {
  const cert = p.certificate;
  if (!cert) return null;
  return { case_id: row.id, number: cert.number, state, status: cert.status, scheme: cert.scheme, holder_id: row.organization_id, product_id: p.productId, lab_id: p.labId, issued_at: cert.issued_at, valid_until: cert.valid_until };
}

/** The certificate a case holds in `state`, with the status the workflow declares that state means. */
function certificateOf(wf: Workflow, state: string, ctx: CaseContext): PreparedEvent['certificate'] {
  const cert = wf.certificateOf?.(ctx);
  if (!cert) return null;
  const status = wf.certificateStatus[state];
  if (!status) throw new Error(`${wf.kind}: state ${state} holds certificate ${cert.number} but declares no certificateStatus`);
  return { ...cert, status };
}

/** The answer to a written event, built from the row read and what the event changed. */
export function resultOf(p: PreparedEvent): FireResult {
  if (p.result) return p.result;
  const { row, audit, ctx } = p;
  const updated: CaseRow = {
    ...row,
    state: p.state,
    version: row.version + 1,
    application: ctx.application,
    record: ctx.record,
    product_id: p.productId,
    lab_id: p.labId,
    deadlines: p.deadlinesChanged ? p.deadlineMap : row.deadlines,
    audit_seq: audit.seq,
    audit_hash: audit.hash,
    updated_at: p.now,
  };
  return (p.result = { case: caseView(updated), event: auditEventView({ ...audit, at: p.now, payload: p.payload }) });
}
