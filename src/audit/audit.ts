import * as crypto from 'node:crypto';
import type { DbOrTrx, Trx } from '../db/types.js';

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

/**
 * Canonical JSON (RFC 8785 JCS), byte for byte what the `canonicalize` package writes: object keys
 * sorted by UTF-16 code units, undefined members left out, numbers and strings as JSON.stringify
 * writes them, toJSON() honoured. A loop instead of the package's reduce over template strings:
 * it is the inner loop of audit verification.
 */
export function canonicalJson(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(Number.isNaN(v) ? 'NaN is not allowed' : 'Infinity is not allowed');
    return JSON.stringify(v);
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (i > 0) out += ',';
      out += x === undefined || typeof x === 'symbol' ? 'null' : canonicalJson(x);
    }
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length > 1) keys.sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined || typeof x === 'symbol') continue;
    if (!first) out += ',';
    first = false;
    out += `${quotedKey(k)}:${canonicalJson(x)}`;
  }
  return `${out}}`;
}

// The same few dozen keys (chain_id, seq, payload fields, …) are quoted for every event: quoted
// once. Bounded, since payload keys (metric names) come from callers.
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 4096) quotedKeys.set(k, q);
  }
  return q;
}

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

type StoredAuditRow = {
  chain_id: string;
  seq: number;
  case_id: string | null;
  kind: string;
  type: string;
  actor_principal_id: string | null;
  actor_role: string;
  from_state: string | null;
  to_state: string | null;
  payload: unknown;
  facts: unknown;
  at: Date;
};

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

/**
 * Appends one event to the registry chain (principals, organizations, accreditation). The head
 * row is locked so concurrent writers extend the chain one at a time.
 */
export async function appendRegistryEvent(
  trx: Trx,
  e: { kind: string; type: string; actor: Actor; payload: unknown; at?: Date },
): Promise<void> {
  await trx
    .insertInto('audit_heads')
    .values({ chain_id: REGISTRY_CHAIN, seq: 0, hash: GENESIS_HASH })
    .onConflict((oc) => oc.column('chain_id').doNothing())
    .execute();
  const head = await trx
    .selectFrom('audit_heads')
    .selectAll()
    .where('chain_id', '=', REGISTRY_CHAIN)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const body: AuditEventBody = {
    chain_id: REGISTRY_CHAIN,
    seq: head.seq + 1,
    case_id: null,
    kind: e.kind,
    type: e.type,
    actor: e.actor,
    from_state: null,
    to_state: null,
    payload: e.payload,
    facts: null,
    at: (e.at ?? new Date()).toISOString(),
  };
  const row = auditRow(body, head.hash);
  await trx.insertInto('audit_events').values(row).execute();
  await trx.updateTable('audit_heads').set({ seq: body.seq, hash: row.hash }).where('chain_id', '=', REGISTRY_CHAIN).execute();
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
export function verifyChain(rows: StoredAuditRow[] & { prev_hash: string; hash: string }[], ats?: string[]): ChainFailure | null {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of rows as Array<StoredAuditRow & { prev_hash: string; hash: string }>) {
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

export async function readChain(db: DbOrTrx, chainId: string) {
  return db.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).orderBy('seq').execute();
}
