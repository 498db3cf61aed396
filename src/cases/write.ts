// The case's write: one statement that updates cases still at the version read, appends their
// audit events, rewrites their deadline rows and certificate register rows and stores their
// Idempotency-Key answers, all or nothing. A single event is a batch of one: the same statement
// serves fireEvent, the batcher and the scheduler.
import type { RawBuilder } from 'kysely';
import { sql } from '../db/kysely.js';
import type { DbOrTrx } from '../db/types.js';
import { isKeyTaken, keyInFlight, keyRow } from '../idempotency.js';
import { certificateRowOf, deadlineRows, resultOf, type PreparedEvent } from '../engine/transition.js';
import type { FireResult } from '../engine/case.js';

/** A deadline the scheduler fired: removed with the event unless the event set it again to another time. */
export type FiredDeadline = { name: string; event_type: string; due_at: Date };

type Columns = ReadonlyArray<readonly [name: string, type: 'uuid' | 'integer' | 'text' | 'jsonb' | 'timestamptz']>;

const CASE = [['id', 'uuid'], ['version', 'integer'], ['state', 'text'], ['record', 'jsonb'], ['application', 'jsonb'], ['product_id', 'uuid'], ['lab_id', 'uuid'], ['deadlines', 'jsonb'], ['audit_seq', 'integer'], ['audit_hash', 'text'], ['updated_at', 'timestamptz']] as const;
const AUDIT = [['chain_id', 'text'], ['seq', 'integer'], ['case_id', 'uuid'], ['kind', 'text'], ['type', 'text'], ['actor_principal_id', 'uuid'], ['actor_role', 'text'], ['from_state', 'text'], ['to_state', 'text'], ['payload', 'jsonb'], ['facts', 'jsonb'], ['at', 'timestamptz'], ['prev_hash', 'text'], ['hash', 'text']] as const;
const KEEP = [['case_id', 'uuid'], ['names', 'jsonb']] as const;
const DUE = [['case_id', 'uuid'], ['name', 'text'], ['event_type', 'text'], ['due_at', 'timestamptz']] as const;
const CERT = [['case_id', 'uuid'], ['number', 'text'], ['state', 'text'], ['status', 'text'], ['scheme', 'text'], ['holder_id', 'uuid'], ['product_id', 'uuid'], ['lab_id', 'uuid'], ['issued_at', 'timestamptz'], ['valid_until', 'timestamptz']] as const;
const KEY = [['case_id', 'uuid'], ['principal_id', 'uuid'], ['key', 'text'], ['method', 'text'], ['path', 'text'], ['request_hash', 'text'], ['status', 'integer'], ['headers', 'text'], ['body', 'text']] as const;

const names = (cols: Columns) => sql.raw(cols.map(([n]) => n).join(', '));

/** Rows a statement reads: `col(name)` is a column of the current row, `source` the relation that yields them (none for one row). */
type Rows = { source: RawBuilder<unknown> | null; col: (name: string) => unknown };

/**
 * Many rows go as one jsonb array that PostgreSQL takes apart (one parameter whatever their
 * number). A single row goes as parameters in place, with no relation to join: a lone event sent
 * as a one-row array took ~1.5x the time of the former single-event statement on PGlite and ~1.1x
 * on PostgreSQL (the array's parsing and the join's planning); in place, ~1.05x (see the commit).
 */
function rows(alias: string, cols: Columns, items: Array<Record<string, unknown>>): Rows {
  if (items.length === 1) {
    // Where each parameter goes (a column, a comparison with one) tells PostgreSQL its type; a
    // JSON value comes as text and is cast.
    const r = items[0]!;
    const json = new Set(cols.filter(([, t]) => t === 'jsonb').map(([n]) => n));
    const col = (n: string) => {
      const v = r[n] ?? null;
      return json.has(n) && v !== null ? sql`${v instanceof Json ? v.text : JSON.stringify(v)}::jsonb` : v;
    };
    return { source: null, col };
  }
  const declared = sql.raw(cols.map(([n, t]) => `${n} ${t}`).join(', '));
  return { source: sql`jsonb_to_recordset(${JSON.stringify(items)}::jsonb) as ${sql.raw(alias)}(${declared})`, col: (n) => sql.raw(`${alias}.${n}`) };
}

/** A JSON value whose text is already written (the audit row's payload and facts): sent as that text when alone. */
class Json {
  constructor(
    readonly text: string,
    private readonly value?: unknown,
  ) {}
  toJSON() {
    return this.value !== undefined ? this.value : JSON.parse(this.text);
  }
}

/**
 * Writes one event (writeEvents of one). Answers null when the case moved on since it was read;
 * an Idempotency-Key taken meanwhile by a request that committed first is a 409.
 */
export async function writeEvent(db: DbOrTrx, p: PreparedEvent): Promise<FireResult | null> {
  let written: Set<string>;
  try {
    written = await writeEvents(db, [{ prepared: p }]);
  } catch (err) {
    throw p.keyed && isKeyTaken(err) ? keyInFlight() : err;
  }
  return written.size === 0 ? null : resultOf(p);
}

/**
 * Writes events prepared against different cases in ONE statement: every case update that finds
 * its case still at the version read, the audit event and deadline rows (the fired one removed,
 * changed ones rewritten) of exactly those cases. Answers the ids of the cases written; the
 * others moved on since they were read and nothing of their event was written.
 *
 * Only what an event changed is written: an unchanged application or record (the machine's
 * actions keep what they do not change by reference) is kept as stored, so PostgreSQL neither
 * re-parses nor re-compresses it; the deadline statements are left out when no event changed or
 * fired a deadline, the key's when none has a key. The answer is built from the row read plus
 * the changes (resultOf), not read back.
 */
export async function writeEvents(db: DbOrTrx, items: Array<{ prepared: PreparedEvent; fired?: FiredDeadline }>): Promise<Set<string>> {
  const cases: Array<Record<string, unknown>> = [];
  const audits: Array<Record<string, unknown>> = [];
  const keep: Array<Record<string, unknown>> = [];
  const upsert: Array<Record<string, unknown>> = [];
  const keys: Array<Record<string, unknown>> = [];
  const certs: Array<Record<string, unknown>> = [];
  // Which optional columns any event changes: the others are left out of the update.
  const changes = { record: false, application: false, product_id: false, lab_id: false, deadlines: false };
  for (const { prepared: p, fired } of items) {
    const { row, ctx, audit } = p;
    if (p.keyed) keys.push({ case_id: row.id, ...keyRow(p.keyed, resultOf(p)) });
    const cert = certificateRowOf(row, p.state, p);
    if (cert) certs.push(cert);
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
    changes.record ||= ctx.record !== row.record;
    changes.application ||= ctx.application !== row.application;
    changes.product_id ||= p.productId !== row.product_id;
    changes.lab_id ||= p.labId !== row.lab_id;
    changes.deadlines ||= p.deadlinesChanged;
    audits.push({ ...audit, payload: new Json(audit.payload, p.payload), facts: audit.facts === null ? null : new Json(audit.facts) });
    if (!p.deadlinesChanged && !fired) continue;
    let due = deadlineRows(row.id, p.deadlines);
    // The fired deadline goes, unless the event set it again to another time or event.
    if (fired) due = due.filter((d) => !(d.name === fired.name && d.event_type === fired.event_type && new Date(d.due_at).getTime() === fired.due_at.getTime()));
    keep.push({ case_id: row.id, names: due.map((d) => d.name) });
    if (p.deadlinesChanged) upsert.push(...due);
  }
  const x = rows('x', CASE, cases);
  const e = rows('e', AUDIT, audits);
  const sets = [
    sql`state = ${x.col('state')}`,
    sql`version = c.version + 1`,
    sql`audit_seq = ${x.col('audit_seq')}`,
    sql`audit_hash = ${x.col('audit_hash')}`,
    sql`updated_at = ${x.col('updated_at')}`,
  ];
  // An event that leaves a column as it was has null there (or its old value): coalesce keeps it.
  if (changes.record) sets.push(sql`record = coalesce(${x.col('record')}, c.record)`);
  if (changes.application) sets.push(sql`application = coalesce(${x.col('application')}, c.application)`);
  if (changes.product_id) sets.push(sql`product_id = ${x.col('product_id')}`);
  if (changes.lab_id) sets.push(sql`lab_id = ${x.col('lab_id')}`);
  if (changes.deadlines) sets.push(sql`deadlines = coalesce(${x.col('deadlines')}, c.deadlines)`);
  // Each row goes with its case's update: a row whose case was not updated writes nothing.
  const and = (r: Rows) => (r.source ? sql`, ${r.source}` : sql``);
  const list = (r: Rows, cols: Columns) => sql.join(cols.map(([c]) => r.col(c)));
  const k = keep.length === 0 ? null : rows('k', KEEP, keep);
  const n = upsert.length === 0 ? null : rows('n', DUE, upsert);
  const key = keys.length === 0 ? null : rows('ik', KEY, keys);
  const deadlineCtes = !k
    ? sql``
    : sql`,
    dd as (
      delete from deadlines d
      using u${and(k)}
      where d.case_id = u.id and u.id = ${k.col('case_id')} and not (${k.col('names')} ? d.name)
    )${
      !n
        ? sql``
        : sql`,
    di as (
      insert into deadlines (case_id, name, event_type, due_at)
      select ${list(n, DUE)}
      from u${and(n)}
      where u.id = ${n.col('case_id')}
      on conflict (case_id, name) do update
        set event_type = excluded.event_type, due_at = excluded.due_at, attempts = 0, last_error = null, next_attempt_at = null
        where deadlines.event_type is distinct from excluded.event_type or deadlines.due_at is distinct from excluded.due_at
    )`
    }`;
  // The certificate register's row: the names are copied from the registry (kept by its rename
  // triggers), the status is the one the workflow declares for the case's new state.
  const c = certs.length === 0 ? null : rows('r', CERT, certs);
  const certCte = !c
    ? sql``
    : sql`,
    cert as (
      insert into certificates as cr (number, case_id, state, status, scheme, holder_id, holder_name, holder_name_en,
                                      product_id, product_name, product_version, lab_id, lab_name, issued_at, valid_until, status_index)
      select ${c.col('number')}::text, u.id, ${c.col('state')}::text, ${c.col('status')}::text, ${c.col('scheme')}::text, o.id, o.name, o.name_en,
             p.id, p.name, p.version, l.id, l.name, ${c.col('issued_at')}::timestamptz, ${c.col('valid_until')}::timestamptz,
             -- The status lists' index, fixed at issuance: an index is taken only for a new certificate
             -- (a default would take one for every upsert that updates).
             coalesce((select s.status_index from certificates s where s.case_id = u.id), nextval('certificate_status_index'))
      from u${and(c)}
      join organizations o on o.id = ${c.col('holder_id')}::uuid
      left join products p on p.id = ${c.col('product_id')}::uuid
      left join organizations l on l.id = ${c.col('lab_id')}::uuid
      where u.id = ${c.col('case_id')}::uuid
      on conflict (case_id) do update
        set state = excluded.state, status = excluded.status, lab_id = excluded.lab_id, lab_name = excluded.lab_name, valid_until = excluded.valid_until
        where cr.state is distinct from excluded.state or cr.lab_id is distinct from excluded.lab_id or cr.valid_until is distinct from excluded.valid_until
    )`;
  const keyCte = !key
    ? sql``
    : sql`,
    k as (
      insert into idempotency_keys (principal_id, key, method, path, request_hash, status, headers, body)
      select ${list(key, KEY.slice(1, 7))}, ${key.col('headers')}::jsonb, ${key.col('body')}
      from u${and(key)}
      where u.id = ${key.col('case_id')}
    )`;
  const r = await sql<{ id: string }>`
    with u as (
      update cases c set ${sql.join(sets)}
      ${x.source ? sql`from ${x.source}` : sql``}
      where c.id = ${x.col('id')} and c.version = ${x.col('version')}
      returning c.id
    ),
    a as (
      insert into audit_events (${names(AUDIT)})
      select ${list(e, AUDIT)}
      from u${and(e)}
      where u.id = ${e.col('case_id')}
    )${deadlineCtes}${certCte}${keyCte}
    select id from u`.execute(db);
  return new Set(r.rows.map((x) => x.id));
}
