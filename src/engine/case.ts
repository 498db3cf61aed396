// A case as stored and as answered, and an audit event as answered: the shapes the engine judges
// and the HTTP layer sends.
// A case as stored is the generated row of the cases table (src/generated/db.ts, from migrations/):
// imported for its type only, so the engine loads nothing of the database (test/engine/pure.test.ts),
// and a migration that changes a column the engine reads fails to compile here.
import type { Rows } from '../generated/db.js';

export type CaseRow = Rows['cases'];

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
}, logIndex?: number) {
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
    // Its leaf in the transparency log, once the sequencer has given it one (SPEC §7).
    ...(logIndex === undefined ? {} : { log_index: logIndex }),
  };
}

export type AuditEventView = ReturnType<typeof auditEventView>;
export type FireResult = { case: CaseView; event: AuditEventView };
