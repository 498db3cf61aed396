// The transition engine: every case of every kind moves through here, one event per transaction.
import { randomUUID } from 'node:crypto';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { sql } from 'kysely';
import type { Db, DbOrTrx, Trx } from '../db/types.js';
import { AppError, notFound, ruleViolation, validationFailed } from '../errors.js';
import type { Schemas } from '../schemas.js';
import type { ActorRole, CaseContext, CaseEvent, Deadline, EventActor, Workflow } from '../../workflows/kit.js';
import { GENESIS_HASH, auditRow, type AuditEventBody } from './audit.js';
import { lookupIn } from './lookup.js';

export type Caller = { principal_id: string | null; role: ActorRole; organization_id: string | null };
export const SYSTEM_CALLER: Caller = { principal_id: null, role: 'system', organization_id: null };

export type EngineDeps = { db: Db; schemas: Schemas; now: () => Date };

type CaseRow = {
  id: string;
  kind: string;
  number: string;
  state: string;
  version: number;
  organization_id: string;
  product_id: string | null;
  lab_id: string | null;
  application: any;
  record: any;
  deadlines: Record<string, string>;
  audit_seq: number;
  audit_hash: string;
  created_at: Date;
  updated_at: Date;
};

export type CaseView = {
  id: string;
  number: string;
  kind: string;
  state: string;
  version: number;
  organization_id: string;
  product_id: string | null;
  lab_id: string | null;
  application: unknown;
  record: unknown;
  deadlines: Record<string, string>;
  created_at: string;
  updated_at: string;
};

export function caseView(row: CaseRow): CaseView {
  return {
    id: row.id,
    number: row.number,
    kind: row.kind,
    state: row.state,
    version: row.version,
    organization_id: row.organization_id,
    product_id: row.product_id,
    lab_id: row.lab_id,
    application: row.application,
    record: row.record,
    deadlines: row.deadlines,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

// ---- reading the machine ----------------------------------------------------------------------

const stateNode = (machine: AnyStateMachine, state: string) => machine.root.states[state];

/** Event types the machine handles in a state (the machine is the table of legal transitions). */
export function eventsInState(wf: Workflow, state: string): string[] {
  const node = stateNode(wf.machine, state);
  return node ? [...node.transitions.keys()].filter((t) => wf.events[t] && !wf.events[t]!.internal) : [];
}

export function finalStates(wf: Workflow): string[] {
  return Object.entries(wf.machine.root.states)
    .filter(([, n]) => n.type === 'final')
    .map(([name]) => name);
}

/** What this caller may fire now, by state and role (guards that need a payload are not run). */
export function allowedEvents(wf: Workflow, state: string, caller: Caller): string[] {
  return eventsInState(wf, state).filter((t) => wf.events[t]!.roles.includes(caller.role));
}

export function canSee(row: { organization_id: string; lab_id: string | null }, caller: Caller): boolean {
  switch (caller.role) {
    case 'regulator':
    case 'system':
      return true;
    case 'applicant':
      return caller.organization_id !== null && row.organization_id === caller.organization_id;
    case 'lab':
      return caller.organization_id !== null && row.lab_id === caller.organization_id;
    default:
      return false;
  }
}

export function contextOf(row: Pick<CaseRow, 'id' | 'number' | 'organization_id' | 'application' | 'record'>): CaseContext {
  return { case_id: row.id, number: row.number, organization_id: row.organization_id, application: row.application, record: row.record };
}

export function deadlinesOf(wf: Workflow, state: string, context: CaseContext): Deadline[] {
  const spec = stateNode(wf.machine, state)?.meta?.deadlines as ((c: CaseContext) => Deadline[]) | undefined;
  return spec ? spec(context) : [];
}

const deadlineMap = (ds: Deadline[]) => Object.fromEntries(ds.map((d) => [d.name, new Date(d.at).toISOString()]));

/** Runs one event through the machine: the pure step shared by the engine and the audit replay. */
export function step(wf: Workflow, snapshot: AnyMachineSnapshot, event: CaseEvent): AnyMachineSnapshot | { violation: { rule: string; message: string } } {
  const enabled = wf.machine.getTransitionData(snapshot as never, event as never);
  if (enabled.length === 0) {
    for (const t of stateNode(wf.machine, String(snapshot.value))?.transitions.get(event.type) ?? []) {
      const g = t.guard as unknown;
      const name = typeof g === 'string' ? g : (g as { type?: string } | undefined)?.type;
      const rule = name ? wf.rules[name] : undefined;
      const message = rule?.({ context: snapshot.context, event });
      if (name && message) return { violation: { rule: name, message } };
    }
    return { violation: { rule: 'unknown', message: `${event.type} is not possible now` } };
  }
  const [next] = transition(wf.machine, snapshot, event as never);
  return next;
}

export function initialSnapshot(wf: Workflow, context: CaseContext): AnyMachineSnapshot {
  const [snap] = initialTransition(wf.machine, context);
  return snap;
}

export function resolveSnapshot(wf: Workflow, state: string, context: CaseContext): AnyMachineSnapshot {
  return wf.machine.resolveState({ value: state, context });
}

// ---- writing --------------------------------------------------------------------------------

const actorOf = (c: Caller): EventActor => ({ principal_id: c.principal_id, role: c.role });

async function lockCase(trx: Trx, wf: Workflow, id: string): Promise<CaseRow | undefined> {
  return (await trx.selectFrom('cases').selectAll().where('id', '=', id).where('kind', '=', wf.kind).forUpdate().executeTakeFirst()) as CaseRow | undefined;
}

export async function createCase(deps: EngineDeps, wf: Workflow, caller: Caller, application: unknown): Promise<CaseView> {
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
    const row = (await trx
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
      .executeTakeFirstOrThrow()) as CaseRow;
    await trx.insertInto('audit_events').values(audit).execute();
    await writeDeadlines(trx, id, deadlines);
    return caseView(row);
  });
}

export type FireInput = { type: string; payload?: unknown };
export type FireOptions = { ifMatch?: number; allowInternal?: boolean };
export type AuditEventView = ReturnType<typeof auditEventView>;
export type FireResult = { case: CaseView; event: AuditEventView };

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
 * then judged again against the new state. Events that must read the registry (facts) run in a
 * transaction holding the case's row lock instead.
 */
export async function fireEvent(deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions = {}): Promise<FireResult> {
  checkEventType(wf, input, opts);
  if (!needsTransaction(wf, input.type)) {
    for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
      const row = (await deps.db.selectFrom('cases').selectAll().where('id', '=', caseId).where('kind', '=', wf.kind).executeTakeFirst()) as CaseRow | undefined;
      const prepared = prepare(deps, wf, caller, row, input, opts, null);
      const written = await writeEvent(deps.db, prepared);
      if (written) return written;
    }
  }
  return deps.db.transaction().execute((trx) => fireEventIn(trx, deps, wf, caller, caseId, input, opts));
}

/** The same, inside the caller's transaction, holding the case's row lock (the scheduler uses this). */
export async function fireEventIn(trx: Trx, deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions = {}): Promise<FireResult> {
  checkEventType(wf, input, opts);
  const row = await lockCase(trx, wf, caseId);
  check(deps, wf, caller, row, input, opts);
  const lookup = lookupIn(trx);
  const payload = input.payload ?? {};
  if (input.type === 'REPLACE_APPLICATION') {
    const problem = await wf.checkApplication?.(lookup, payload, row!.organization_id);
    if (problem) throw ruleViolation('application', problem);
  }
  const loader = wf.facts?.[input.type];
  const now = deps.now();
  const facts = loader
    ? ((await loader(lookup, contextOf(row!), { type: input.type, payload, actor: actorOf(caller), at: now.toISOString(), seq: row!.audit_seq + 1 })) ?? null)
    : null;
  const written = await writeEvent(trx, prepare(deps, wf, caller, row, input, opts, facts, now));
  if (!written) throw new Error('the locked case changed under its lock');
  return written;
}

function checkEventType(wf: Workflow, input: FireInput, opts: FireOptions) {
  const spec = wf.events[input.type];
  if (!spec || (spec.internal && !opts.allowInternal)) {
    throw validationFailed([{ path: 'body/type', message: `is not an event of ${wf.kind}` }]);
  }
}

/** The refusals that need no registry look-up, in the order the SPEC's errors are judged. */
function check(deps: EngineDeps, wf: Workflow, caller: Caller, row: CaseRow | undefined, input: FireInput, opts: FireOptions): asserts row is CaseRow {
  const spec = wf.events[input.type]!;
  if (!row || !canSee(row, caller)) throw notFound('case');
  if (!spec.roles.includes(caller.role)) throw new AppError('forbidden', `${caller.role} may not fire ${input.type}`);
  if (opts.ifMatch !== undefined && opts.ifMatch !== row.version) {
    throw new AppError('version_mismatch', `If-Match names version ${opts.ifMatch}, the case is at version ${row.version}`, { version: row.version });
  }
  if (!stateNode(wf.machine, row.state)?.transitions.has(input.type)) {
    throw new AppError('invalid_transition', `${input.type} is not allowed in state ${row.state}`, {
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

type Prepared = {
  row: CaseRow;
  state: string;
  ctx: CaseContext;
  audit: ReturnType<typeof auditRow>;
  deadlines: Deadline[];
  deadlineMap: Record<string, string>;
  deadlinesChanged: boolean;
  now: Date;
  payload: unknown;
  wf: Workflow;
};

/** Judges the event against the row read and computes everything the write needs. */
function prepare(deps: EngineDeps, wf: Workflow, caller: Caller, row: CaseRow | undefined, input: FireInput, opts: FireOptions, facts: unknown, now = deps.now()): Prepared {
  check(deps, wf, caller, row, input, opts);
  const payload = input.payload ?? {};
  const event: CaseEvent = { type: input.type, payload, actor: actorOf(caller), at: now.toISOString(), seq: row.audit_seq + 1, facts };
  const next = step(wf, resolveSnapshot(wf, row.state, contextOf(row)), event);
  if ('violation' in next) throw ruleViolation(next.violation.rule, next.violation.message);
  const state = String(next.value);
  const ctx = next.context as CaseContext;
  const deadlines = deadlinesOf(wf, state, ctx);
  const map = deadlineMap(deadlines);
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
    audit: auditRow(body, row.audit_hash),
    deadlines,
    deadlineMap: map,
    deadlinesChanged: JSON.stringify(map) !== JSON.stringify(row.deadlines),
    now,
    payload,
    wf,
  };
}

/**
 * One statement: update the case if its version is unchanged, append the audit event and (when
 * they changed) rewrite the deadline rows, all conditioned on that update. Answers null when the
 * case moved on since it was read.
 */
async function writeEvent(db: DbOrTrx, p: Prepared): Promise<FireResult | null> {
  const { row, audit, wf, ctx } = p;
  const due = p.deadlines.filter((d) => d.event).map((d) => ({ name: d.name, event_type: d.event!, due_at: new Date(d.at).toISOString() }));
  const deadlineCtes = p.deadlinesChanged
    ? sql`,
      dd as (
        delete from deadlines
        where case_id in (select id from u)
          and name not in (select jsonb_array_elements_text(${JSON.stringify(due.map((d) => d.name))}::jsonb))
      ),
      di as (
        insert into deadlines (case_id, name, event_type, due_at)
        select u.id, x.name, x.event_type, x.due_at
        from u, jsonb_to_recordset(${JSON.stringify(due)}::jsonb) as x(name text, event_type text, due_at timestamptz)
        on conflict (case_id, name) do update
          set event_type = excluded.event_type, due_at = excluded.due_at, attempts = 0, last_error = null, next_attempt_at = null
          where deadlines.event_type is distinct from excluded.event_type or deadlines.due_at is distinct from excluded.due_at
      )`
    : sql``;
  const result = await sql<CaseRow>`
    with u as (
      update cases set
        state = ${p.state},
        version = version + 1,
        application = ${JSON.stringify(ctx.application)}::jsonb,
        record = ${JSON.stringify(ctx.record)}::jsonb,
        product_id = ${wf.productOf(ctx.application)},
        lab_id = ${wf.labOf(ctx)},
        deadlines = ${JSON.stringify(p.deadlineMap)}::jsonb,
        audit_seq = ${audit.seq},
        audit_hash = ${audit.hash},
        updated_at = ${p.now}
      where id = ${row.id} and version = ${row.version}
      returning *
    ),
    a as (
      insert into audit_events (chain_id, seq, case_id, kind, type, actor_principal_id, actor_role, from_state, to_state, payload, facts, at, prev_hash, hash)
      select ${audit.chain_id}, ${audit.seq}, u.id, ${audit.kind}, ${audit.type}, ${audit.actor_principal_id}, ${audit.actor_role},
             ${audit.from_state}, ${audit.to_state}, ${audit.payload}::jsonb, ${audit.facts}::jsonb, ${audit.at}::timestamptz, ${audit.prev_hash}, ${audit.hash}
      from u
    )${deadlineCtes}
    select * from u`.execute(db);
  const updated = result.rows[0];
  if (!updated) return null;
  return { case: caseView(updated), event: auditEventView({ ...audit, at: p.now, payload: p.payload }) };
}

async function writeDeadlines(trx: Trx, caseId: string, deadlines: Deadline[]): Promise<void> {
  const due = deadlines.filter((d) => d.event);
  if (due.length === 0) return;
  await trx
    .insertInto('deadlines')
    .values(due.map((d) => ({ case_id: caseId, name: d.name, event_type: d.event!, due_at: new Date(d.at) })))
    .execute();
}

export function auditEventView(r: {
  seq: number;
  type: string;
  actor_principal_id: string | null;
  actor_role: string;
  from_state: string | null;
  to_state: string | null;
  payload: unknown;
  at: Date | string;
  prev_hash: string;
  hash: string;
}) {
  return {
    seq: r.seq,
    type: r.type,
    actor: { principal_id: r.actor_principal_id, role: r.actor_role },
    from_state: r.from_state,
    to_state: r.to_state,
    payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
    at: new Date(r.at).toISOString(),
    prev_hash: r.prev_hash,
    hash: r.hash,
  };
}

// ---- reading --------------------------------------------------------------------------------

export async function getCase(db: DbOrTrx, wf: Workflow, caller: Caller, id: string): Promise<CaseView> {
  const row = (await db.selectFrom('cases').selectAll().where('id', '=', id).where('kind', '=', wf.kind).executeTakeFirst()) as CaseRow | undefined;
  if (!row || !canSee(row, caller)) throw notFound('case');
  return caseView(row);
}

export async function caseHistory(db: DbOrTrx, wf: Workflow, caller: Caller, id: string) {
  await getCase(db, wf, caller, id);
  const rows = await db.selectFrom('audit_events').selectAll().where('chain_id', '=', id).orderBy('seq').execute();
  return rows.map(auditEventView);
}
