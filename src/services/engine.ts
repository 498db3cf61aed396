// The transition engine: every case of every kind moves through here, one event per transaction.
import { randomUUID } from 'node:crypto';
import { createActor, type AnyActorScope, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { sql } from 'kysely';
import type { Db, DbOrTrx, Trx } from '../db/types.js';
import { AppError, notFound, ruleViolation, validationFailed } from '../errors.js';
import type { Schemas } from '../schemas.js';
import { ruleNames, type ActorRole, type CaseContext, type CaseEvent, type Deadline, type EventActor, type Workflow } from '../../workflows/kit.js';
import { GENESIS_HASH, auditRow, type AuditEventBody } from '../audit/audit.js';
import { lookupIn } from '../registry/lookup.js';
import { isKeyTaken, keyInFlight, keyRow, storeAnswer, type KeyedRequest } from '../idempotency.js';

export type Caller = { principal_id: string | null; role: ActorRole; organization_id: string | null };
export const SYSTEM_CALLER: Caller = { principal_id: null, role: 'system', organization_id: null };

export type EngineDeps = {
  db: Db;
  schemas: Schemas;
  now: () => Date;
  /** Concurrent events of different cases share their read and their write (the service sets one). */
  batcher?: EventBatcher;
};

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

// Key order aside: the stored map comes back from jsonb, which orders keys its own way.
const sameDeadlines = (a: Record<string, string>, b: Record<string, string>) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b ?? {}).length && keys.every((k) => a[k] === b[k]);
};

const deadlineMap = (ds: Deadline[]) => Object.fromEntries(ds.map((d) => [d.name, new Date(d.at).toISOString()]));

// xstate's pure transition() and initialTransition() build a throw-away actor (running the
// machine's initial step) on every call; that was most of the cost of a replay. Our machines have
// only assign actions, no invoked or spawned actors and no delays, so one inert scope per machine
// serves every call: the same inert scope those functions build, made once.
const inertScopes = new WeakMap<AnyStateMachine, AnyActorScope>();
function inertScope(machine: AnyStateMachine): AnyActorScope {
  let scope = inertScopes.get(machine);
  if (!scope) {
    const self = createActor(machine);
    scope = { self, defer: () => {}, id: '', logger: () => {}, sessionId: '', stopChild: () => {}, system: self.system, emit: () => {}, actionExecutor: () => {} } as unknown as AnyActorScope;
    inertScopes.set(machine, scope);
  }
  return scope;
}

/** Runs one event through the machine: the pure step shared by the engine and the audit replay. */
export function step(wf: Workflow, snapshot: AnyMachineSnapshot, event: CaseEvent): AnyMachineSnapshot | { violation: { rule: string; message: string } } {
  // xstate answers the very snapshot it was given when no transition is enabled (a refused guard,
  // an event the state ignores); only then are the transitions asked which rule refused.
  const next = wf.machine.transition(snapshot as never, event as never, inertScope(wf.machine)) as AnyMachineSnapshot;
  if (next !== snapshot || wf.machine.getTransitionData(snapshot as never, event as never).length > 0) return next;
  for (const t of stateNode(wf.machine, String(snapshot.value))?.transitions.get(event.type) ?? []) {
    for (const name of ruleNames(t.guard)) {
      const message = wf.rules[name]?.({ context: snapshot.context, event });
      if (message) return { violation: { rule: name, message } };
    }
  }
  return { violation: { rule: 'unknown', message: `${event.type} is not possible now` } };
}

export function initialSnapshot(wf: Workflow, context: CaseContext): AnyMachineSnapshot {
  return wf.machine.getInitialSnapshot(inertScope(wf.machine), context);
}

export function resolveSnapshot(wf: Workflow, state: string, context: CaseContext): AnyMachineSnapshot {
  return wf.machine.resolveState({ value: state, context });
}

// ---- writing --------------------------------------------------------------------------------

const actorOf = (c: Caller): EventActor => ({ principal_id: c.principal_id, role: c.role });

async function lockCase(trx: Trx, wf: Workflow, id: string): Promise<CaseRow | undefined> {
  return (await trx.selectFrom('cases').selectAll().where('id', '=', id).where('kind', '=', wf.kind).forUpdate().executeTakeFirst()) as CaseRow | undefined;
}

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
    const view = caseView(row);
    await storeAnswer(trx, keyed, view);
    return view;
  });
}

export type FireInput = { type: string; payload?: unknown };
export type FireOptions = {
  ifMatch?: number;
  allowInternal?: boolean;
  /** The request's Idempotency-Key: written with its answer by the event's own statement. */
  idempotency?: KeyedRequest<FireResult>;
};
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
 * then judged again against the new state. With a batcher (the service has one), events that
 * arrive together for different cases share those two round trips (see EventBatcher). Events
 * that must read the registry (facts) run in a transaction holding the case's row lock instead.
 */
export async function fireEvent(deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions = {}): Promise<FireResult> {
  checkEventType(wf, input, opts);
  if (needsTransaction(wf, input.type)) return deps.db.transaction().execute((trx) => fireEventIn(trx, deps, wf, caller, caseId, input, opts));
  if (deps.batcher) return deps.batcher.fire({ deps, wf, caller, caseId, input, opts });
  return fireOptimistic(deps, wf, caller, caseId, input, opts);
}

/** Read, judge, version-checked write; again if the case moved on; under a row lock at last. */
async function fireOptimistic(deps: EngineDeps, wf: Workflow, caller: Caller, caseId: string, input: FireInput, opts: FireOptions): Promise<FireResult> {
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const row = (await deps.db.selectFrom('cases').selectAll().where('id', '=', caseId).where('kind', '=', wf.kind).executeTakeFirst()) as CaseRow | undefined;
    const prepared = prepare(deps, wf, caller, row, input, opts, null);
    const written = await writeEvent(deps.db, prepared);
    if (written) return written;
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

type Prepared = {
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
  now: Date;
  payload: unknown;
  wf: Workflow;
  keyed: KeyedRequest<FireResult> | undefined;
  /** The answer, once built: the one stored with an Idempotency-Key is the one sent. */
  result?: FireResult;
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
    productId: wf.productOf(ctx.application),
    labId: wf.labOf(ctx),
    audit: auditRow(body, row.audit_hash),
    deadlines,
    deadlineMap: map,
    deadlinesChanged: !sameDeadlines(map, row.deadlines),
    now,
    payload,
    wf,
    keyed: opts.idempotency,
  };
}

/**
 * One statement: update the case if its version is unchanged, append the audit event and (when
 * they changed) rewrite the deadline rows, all conditioned on that update. Answers null when the
 * case moved on since it was read.
 *
 * Only the columns the event changed are set, and only the new version comes back: PostgreSQL
 * then neither re-parses nor re-compresses an unchanged application or record, and the answer is
 * built from what was written (the row read plus the changes) instead of being read back.
 */
async function writeEvent(db: DbOrTrx, p: Prepared): Promise<FireResult | null> {
  const { row, audit, ctx, productId, labId } = p;
  const sets = [sql`state = ${p.state}`, sql`version = version + 1`, sql`audit_seq = ${audit.seq}`, sql`audit_hash = ${audit.hash}`, sql`updated_at = ${p.now}`];
  // The machine's actions replace what they change and keep the rest by reference.
  if (ctx.record !== row.record) sets.push(sql`record = ${JSON.stringify(ctx.record)}::jsonb`);
  if (ctx.application !== row.application) sets.push(sql`application = ${JSON.stringify(ctx.application)}::jsonb`);
  if (productId !== row.product_id) sets.push(sql`product_id = ${productId}`);
  if (labId !== row.lab_id) sets.push(sql`lab_id = ${labId}`);
  if (p.deadlinesChanged) sets.push(sql`deadlines = ${JSON.stringify(p.deadlineMap)}::jsonb`);
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
  const k = p.keyed && keyRow(p.keyed, resultOf(p));
  const keyCte = k
    ? sql`,
      k as (
        insert into idempotency_keys (principal_id, key, method, path, request_hash, status, headers, body)
        select ${k.principal_id}, ${k.key}, ${k.method}, ${k.path}, ${k.request_hash}, ${k.status}, ${k.headers}::jsonb, ${k.body} from u
      )`
    : sql``;
  let result;
  try {
    result = await sql<{ id: string }>`
    with u as (
      update cases set ${sql.join(sets)}
      where id = ${row.id} and version = ${row.version}
      returning id
    ),
    a as (
      insert into audit_events (chain_id, seq, case_id, kind, type, actor_principal_id, actor_role, from_state, to_state, payload, facts, at, prev_hash, hash)
      select ${audit.chain_id}, ${audit.seq}, u.id, ${audit.kind}, ${audit.type}, ${audit.actor_principal_id}, ${audit.actor_role},
             ${audit.from_state}, ${audit.to_state}, ${audit.payload}::jsonb, ${audit.facts}::jsonb, ${audit.at}::timestamptz, ${audit.prev_hash}, ${audit.hash}
      from u
    )${deadlineCtes}${keyCte}
    select id from u`.execute(db);
  } catch (err) {
    throw k && isKeyTaken(err) ? keyInFlight() : err;
  }
  if (result.rows.length === 0) return null;
  return resultOf(p);
}

/** The answer to a written event, built from the row read and what the event changed. */
function resultOf(p: Prepared): FireResult {
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

// ---- many events at once (the scheduler) -------------------------------------------------------

export type LockedCase = CaseRow;
export type PreparedEvent = Prepared;
/** A deadline the scheduler fired: removed with the event unless the event set it again to another time. */
export type FiredDeadline = { name: string; event_type: string; due_at: Date };

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

/**
 * Writes events prepared against different cases in ONE statement: every case update that finds
 * its case still at the version read, the audit event and deadline rows (the fired one removed,
 * changed ones rewritten) of exactly those cases. Answers the ids of the cases written; the
 * others moved on since they were read and nothing of their event was written.
 */
async function writeEvents(db: DbOrTrx, items: Array<{ prepared: PreparedEvent; fired?: FiredDeadline }>): Promise<Set<string>> {
  const cases: unknown[] = [];
  const audits: unknown[] = [];
  const keep: unknown[] = [];
  const upsert: unknown[] = [];
  const keys: unknown[] = [];
  for (const { prepared: p, fired } of items) {
    const { row, ctx, audit } = p;
    if (p.keyed) keys.push({ case_id: row.id, ...keyRow(p.keyed, resultOf(p)) });
    cases.push({
      id: row.id,
      version: row.version,
      state: p.state,
      record: ctx.record !== row.record ? ctx.record : null,
      application: ctx.application !== row.application ? ctx.application : null,
      product_id: p.productId,
      lab_id: p.labId,
      deadlines: p.deadlinesChanged ? p.deadlineMap : null,
      audit_seq: audit.seq,
      audit_hash: audit.hash,
      updated_at: p.now.toISOString(),
    });
    audits.push({ ...audit, payload: p.payload, facts: audit.facts === null ? null : JSON.parse(audit.facts) });
    if (!p.deadlinesChanged && !fired) continue;
    let due = p.deadlines.filter((d) => d.event).map((d) => ({ case_id: row.id, name: d.name, event_type: d.event!, due_at: new Date(d.at).toISOString() }));
    // The fired deadline goes, unless the event set it again to another time or event.
    if (fired) due = due.filter((d) => !(d.name === fired.name && d.event_type === fired.event_type && new Date(d.due_at).getTime() === fired.due_at.getTime()));
    keep.push({ case_id: row.id, names: due.map((d) => d.name) });
    if (p.deadlinesChanged) upsert.push(...due);
  }
  const r = await sql<{ id: string }>`
    with x as (
      select * from jsonb_to_recordset(${JSON.stringify(cases)}::jsonb) as x(id uuid, version integer, state text, record jsonb, application jsonb,
        product_id uuid, lab_id uuid, deadlines jsonb, audit_seq integer, audit_hash text, updated_at timestamptz)
    ),
    u as (
      update cases c set
        state = x.state,
        version = c.version + 1,
        record = coalesce(x.record, c.record),
        application = coalesce(x.application, c.application),
        product_id = x.product_id,
        lab_id = x.lab_id,
        deadlines = coalesce(x.deadlines, c.deadlines),
        audit_seq = x.audit_seq,
        audit_hash = x.audit_hash,
        updated_at = x.updated_at
      from x
      where c.id = x.id and c.version = x.version
      returning c.id
    ),
    a as (
      insert into audit_events (chain_id, seq, case_id, kind, type, actor_principal_id, actor_role, from_state, to_state, payload, facts, at, prev_hash, hash)
      select e.chain_id, e.seq, e.case_id, e.kind, e.type, e.actor_principal_id, e.actor_role, e.from_state, e.to_state, e.payload, e.facts, e.at, e.prev_hash, e.hash
      from jsonb_to_recordset(${JSON.stringify(audits)}::jsonb) as e(chain_id text, seq integer, case_id uuid, kind text, type text, actor_principal_id uuid,
        actor_role text, from_state text, to_state text, payload jsonb, facts jsonb, at timestamptz, prev_hash text, hash text)
      where e.case_id in (select id from u)
    ),
    dd as (
      delete from deadlines d
      using jsonb_to_recordset(${JSON.stringify(keep)}::jsonb) as k(case_id uuid, names jsonb)
      where d.case_id = k.case_id and not (k.names ? d.name) and k.case_id in (select id from u)
    ),
    di as (
      insert into deadlines (case_id, name, event_type, due_at)
      select n.case_id, n.name, n.event_type, n.due_at
      from jsonb_to_recordset(${JSON.stringify(upsert)}::jsonb) as n(case_id uuid, name text, event_type text, due_at timestamptz)
      where n.case_id in (select id from u)
      on conflict (case_id, name) do update
        set event_type = excluded.event_type, due_at = excluded.due_at, attempts = 0, last_error = null, next_attempt_at = null
        where deadlines.event_type is distinct from excluded.event_type or deadlines.due_at is distinct from excluded.due_at
    )${
      keys.length === 0
        ? sql``
        : sql`,
    k as (
      insert into idempotency_keys (principal_id, key, method, path, request_hash, status, headers, body)
      select k.principal_id, k.key, k.method, k.path, k.request_hash, k.status, k.headers::jsonb, k.body
      from jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as k(case_id uuid, principal_id uuid, key text, method text, path text, request_hash text,
        status integer, headers text, body text)
      where k.case_id in (select id from u)
    )`
    }
    select id from u`.execute(db);
  return new Set(r.rows.map((x) => x.id));
}

// ---- concurrent events, batched ------------------------------------------------------------------

type BatchJob = { deps: EngineDeps; wf: Workflow; caller: Caller; caseId: string; input: FireInput; opts: FireOptions };
type QueuedJob = BatchJob & { resolve: (r: FireResult) => void; reject: (e: unknown) => void };

/**
 * Group commit for events. An event that needs no registry facts is queued; whenever no batch is
 * running, everything queued (one event per case, at most `maxBatch`) is read in one query and,
 * once each event is judged on its own, written in one statement (writeEvents): the per-statement
 * cost in the driver and in PostgreSQL, and the commit, are shared. Nothing waits for a timer: a
 * lone event goes at once, as before; events queue only while a batch is running. A batch that has
 * run for `stallMs` (waiting for a row lock, say) no longer holds the others back: another starts
 * beside it, up to `maxSlots`.
 *
 * Each event is still judged against its own case as read and written only if that case is still
 * at that version. A refused event is answered alone. A case that moved on (another instance wrote
 * it) has its event judged again on the single path. If the shared statement fails, no event of the
 * batch was written (one statement is atomic), and each runs again on its own, so the one that
 * broke it is refused alone with the error it would have had unbatched. Events of a case already
 * in a batch wait for the next one, in the order they came.
 */
export class EventBatcher {
  private queue: QueuedJob[] = [];
  private readonly busy = new Set<string>();
  /** The running batches, by when each started. */
  private readonly running = new Set<{ started: number }>();
  private timer: NodeJS.Timeout | null = null;
  /** Batches started, events they carried, and events that ran again on their own. */
  readonly stats = { batches: 0, events: 0, alone: 0 };

  constructor(
    private readonly db: Db,
    private readonly opts: { maxBatch: number; stallMs: number; maxSlots: number } = { maxBatch: 64, stallMs: 20, maxSlots: 4 },
  ) {}

  fire(job: BatchJob): Promise<FireResult> {
    return new Promise<FireResult>((resolve, reject) => {
      this.queue.push({ ...job, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.queue.length > 0) {
      const now = performance.now();
      let youngest = -Infinity;
      for (const b of this.running) youngest = Math.max(youngest, b.started);
      if (this.running.size > 0 && (this.running.size >= this.opts.maxSlots || now - youngest < this.opts.stallMs)) {
        // A running batch is young (or all slots are taken): look again when the youngest stalls.
        if (!this.timer && this.running.size < this.opts.maxSlots) {
          this.timer = setTimeout(() => ((this.timer = null), this.pump()), Math.max(1, this.opts.stallMs - (now - youngest)));
          this.timer.unref();
        }
        return;
      }
      const batch: QueuedJob[] = [];
      const waiting: QueuedJob[] = [];
      const ids = new Set<string>();
      for (const job of this.queue) {
        if (batch.length < this.opts.maxBatch && !this.busy.has(job.caseId) && !ids.has(job.caseId)) {
          batch.push(job);
          ids.add(job.caseId);
        } else waiting.push(job);
      }
      if (batch.length === 0) return;
      this.queue = waiting;
      for (const id of ids) this.busy.add(id);
      this.stats.batches++;
      this.stats.events += batch.length;
      const running = { started: now };
      this.running.add(running);
      void this.run(batch).finally(() => {
        for (const id of ids) this.busy.delete(id);
        this.running.delete(running);
        this.pump();
      });
    }
  }

  private async run(batch: QueuedJob[]): Promise<void> {
    const single = (job: QueuedJob) => fireOptimistic(job.deps, job.wf, job.caller, job.caseId, job.input, job.opts).then(job.resolve, job.reject);
    const alone = (job: QueuedJob) => (this.stats.alone++, single(job));
    // One event: the single path's statements are the simpler ones (and on the embedded database,
    // which answers each query before the next request comes, every batch is one event).
    if (batch.length === 1) return single(batch[0]!);
    let rows: CaseRow[];
    try {
      rows = (await this.db
        .selectFrom('cases')
        .selectAll()
        .where(sql<boolean>`id = any(${batch.map((j) => j.caseId)}::uuid[])`)
        .execute()) as CaseRow[];
    } catch {
      // e.g. the pool could not give a connection: each event on its own, with its own error
      await Promise.all(batch.map(alone));
      return;
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const judged: Array<{ job: QueuedJob; prepared: Prepared }> = [];
    for (const job of batch) {
      const row = byId.get(job.caseId);
      try {
        judged.push({ job, prepared: prepare(job.deps, job.wf, job.caller, row?.kind === job.wf.kind ? row : undefined, job.input, job.opts, null) });
      } catch (err) {
        job.reject(err);
      }
    }
    if (judged.length === 0) return;
    let written: Set<string>;
    try {
      written = await writeEvents(this.db, judged);
    } catch {
      await Promise.all(judged.map(({ job }) => alone(job)));
      return;
    }
    const again: QueuedJob[] = [];
    for (const { job, prepared } of judged) {
      if (written.has(prepared.row.id)) job.resolve(resultOf(prepared));
      else again.push(job);
    }
    await Promise.all(again.map(alone));
  }
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
