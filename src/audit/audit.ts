// The audit chain's rows and hashes (SPEC §4), computed without I/O: the engine writes them, the
// verification recomputes them.
import * as crypto from 'node:crypto';
import type { Selectable } from 'kysely';
import type { AuditEvents } from '../db/types.js';
import { canonicalJson } from './canonical-json.js';

export const GENESIS_HASH = '0'.repeat(64);
export const REGISTRY_CHAIN = 'registry';

export type Actor = { principal_id: string | null; role: string };

export type AuditEventBody = {
  chain_id: string;
  seq: number;
  case_id: string | null;
  kind: string;
  type: string;
  actor: Actor;
  from_state: string | null;
  to_state: string | null;
  payload: unknown;
  facts: unknown;
  at: string;
};

// One-shot hashing (Node ≥ 20.12) skips a Hash object per event; prev_hash is ASCII hex, so hashing
// the concatenation is hashing one after the other.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256Hex = (data: string): string => (oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex'));

/** hash = sha256(prev_hash ‖ canonical JSON of the event) (SPEC §4). */
export function chainHash(prevHash: string, event: AuditEventBody): string {
  return sha256Hex(prevHash + (canonicalJson(event) ?? ''));
}

export function auditRow(event: AuditEventBody, prevHash: string) {
  return {
    chain_id: event.chain_id,
    seq: event.seq,
    case_id: event.case_id,
    kind: event.kind,
    type: event.type,
    actor_principal_id: event.actor.principal_id,
    actor_role: event.actor.role,
    from_state: event.from_state,
    to_state: event.to_state,
    payload: JSON.stringify(event.payload ?? {}),
    facts: event.facts === undefined || event.facts === null ? null : JSON.stringify(event.facts),
    at: event.at,
    prev_hash: prevHash,
    hash: chainHash(prevHash, event),
  };
}

// The columns an event's hash covers, and the two that chain it.
type StoredAuditRow = Pick<
  Selectable<AuditEvents>,
  'chain_id' | 'seq' | 'case_id' | 'kind' | 'type' | 'actor_principal_id' | 'actor_role' | 'from_state' | 'to_state' | 'payload' | 'facts' | 'at'
>;
type ChainedAuditRow = StoredAuditRow & Pick<Selectable<AuditEvents>, 'prev_hash' | 'hash'>;

export function bodyOfRow(r: StoredAuditRow): AuditEventBody {
  return {
    chain_id: r.chain_id,
    seq: r.seq,
    case_id: r.case_id,
    kind: r.kind,
    type: r.type,
    actor: { principal_id: r.actor_principal_id, role: r.actor_role },
    from_state: r.from_state,
    to_state: r.to_state,
    payload: r.payload,
    facts: r.facts ?? null,
    at: r.at.toISOString(),
  };
}

export type ChainFailure = { case_id: string | null; chain_id: string; seq: number; reason: string };

/**
 * canonicalJson(bodyOfRow(r)), written straight from the stored row: its eleven members are always
 * present, so their sorted order is fixed and only payload and facts need the general walk.
 */
export function canonicalOfRow(r: StoredAuditRow, at = r.at.toISOString()): string {
  const s = JSON.stringify;
  return (
    `{"actor":{"principal_id":${s(r.actor_principal_id)},"role":${s(r.actor_role)}},"at":"${at}",` +
    `"case_id":${s(r.case_id)},"chain_id":${s(r.chain_id)},"facts":${canonicalJson(r.facts ?? null)},"from_state":${s(r.from_state)},` +
    `"kind":${s(r.kind)},"payload":${canonicalJson(r.payload)},"seq":${canonicalJson(r.seq)},"to_state":${s(r.to_state)},"type":${s(r.type)}}`
  );
}

/** Recomputes one chain's hashes in order; returns the first break, if any. `ats` receives each event's time as written in it. */
export function verifyChain(rows: ChainedAuditRow[], ats?: string[]): ChainFailure | null {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of rows) {
    if (r.seq !== expectedSeq) return { case_id: r.case_id, chain_id: r.chain_id, seq: r.seq, reason: `sequence gap: expected ${expectedSeq}` };
    if (r.prev_hash !== prev) return { case_id: r.case_id, chain_id: r.chain_id, seq: r.seq, reason: 'prev_hash does not match the previous event' };
    const at = r.at.toISOString();
    ats?.push(at);
    const h = sha256Hex(prev + canonicalOfRow(r, at));
    if (h !== r.hash) return { case_id: r.case_id, chain_id: r.chain_id, seq: r.seq, reason: 'hash does not match the event content' };
    prev = r.hash;
    expectedSeq++;
  }
  return null;
}
