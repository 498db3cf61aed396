// The case's write: the version-checked statement that updates a case, appends its audit event,
// rewrites its deadline rows and stores the Idempotency-Key answer, all or nothing.
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/types.js';
import { isKeyTaken, keyInFlight, keyRow } from '../idempotency.js';
import { resultOf, type PreparedEvent } from '../engine/transition.js';
import type { FireResult } from '../engine/case.js';

/** A deadline the scheduler fired: removed with the event unless the event set it again to another time. */
export type FiredDeadline = { name: string; event_type: string; due_at: Date };

/**
 * One statement: update the case if its version is unchanged, append the audit event and (when
 * they changed) rewrite the deadline rows, all conditioned on that update. Answers null when the
 * case moved on since it was read.
 *
 * Only the columns the event changed are set, and only the new version comes back: PostgreSQL
 * then neither re-parses nor re-compresses an unchanged application or record, and the answer is
 * built from what was written (the row read plus the changes) instead of being read back.
 */
export async function writeEvent(db: DbOrTrx, p: PreparedEvent): Promise<FireResult | null> {
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

/**
 * Writes events prepared against different cases in ONE statement: every case update that finds
 * its case still at the version read, the audit event and deadline rows (the fired one removed,
 * changed ones rewritten) of exactly those cases. Answers the ids of the cases written; the
 * others moved on since they were read and nothing of their event was written.
 */
export async function writeEvents(db: DbOrTrx, items: Array<{ prepared: PreparedEvent; fired?: FiredDeadline }>): Promise<Set<string>> {
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
