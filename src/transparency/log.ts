// The transparency log in the database (SPEC §7; tables in migrations/2026-12-05T00-transparency-log.ts):
// the sequencer that gives queued audit events their place, the proofs read from stored subtree
// hashes, and the signed checkpoints.
import { sql } from '../db/kysely.js';
import type { Db, DbOrTrx } from '../db/types.js';
import {
  appendToEdge,
  consistencyProof,
  inclusionProof,
  leafHash,
  rightEdge,
  rootOfEdge,
  storedSubtrees,
  subtreeNodes,
  type Hash,
  type Node,
  type SubtreeHash,
} from './merkle.js';
import { formatCheckpoint } from './checkpoint.js';
import { signNote, type NoteSigner } from './note.js';

export type TreeHead = { size: number; root: Hash };

const hex = (h: Hash) => h.toString('hex');
const fromHex = (s: string): Hash => Buffer.from(s, 'hex');

export async function treeHead(db: DbOrTrx): Promise<TreeHead> {
  const { rows } = await sql<{ size: string; root: string }>`select size, encode(root, 'hex') as root from log_head`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('the transparency log has no head row (migrations/2026-12-05T00-transparency-log.ts)');
  return { size: Number(row.size), root: fromHex(row.root) };
}

/** The stored hashes of the given complete subtrees (level 0: leaves); an absent one is an error naming it. */
export async function readNodes(db: DbOrTrx, keys: Array<{ level: number; index: number }>): Promise<Map<string, Hash>> {
  const out = new Map<string, Hash>();
  if (keys.length === 0) return out;
  const { rows } = await sql<{ level: number; index: string; hash: string | null }>`
    select k.level, k.index, encode(coalesce(n.hash, l.leaf_hash), 'hex') as hash
    from unnest(${keys.map((k) => k.level)}::smallint[], ${keys.map((k) => k.index)}::bigint[]) as k(level, index)
    left join log_nodes n on k.level > 0 and n.level = k.level and n.index = k.index
    left join log_leaves l on k.level = 0 and l.log_index = k.index`.execute(db);
  for (const r of rows) if (r.hash !== null) out.set(`${r.level}/${r.index}`, fromHex(r.hash));
  for (const k of keys) if (!out.has(`${k.level}/${k.index}`)) throw new Error(`the transparency log has no stored subtree at level ${k.level}, index ${k.index}`);
  return out;
}

export class LogRangeError extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Runs a proof builder over stored subtrees: first to learn which subtrees it reads (the shape of a
 * proof does not depend on the hashes), then, once they and the log's size are read in one query,
 * for real. A tree larger than the log is the caller's mistake, named by `field`.
 */
async function proofFromStore<T>(db: DbOrTrx, treeSize: number, field: string, build: (subtree: SubtreeHash) => T): Promise<T> {
  const keys: Array<{ level: number; index: number }> = [];
  build((start, end) => {
    keys.push(...subtreeNodes(start, end));
    return Buffer.alloc(32);
  });
  const { rows } = await sql<{ size: string; level: number | null; index: string | null; hash: string | null }>`
    select h.size, x.level, x.index, x.hash from log_head h left join lateral (
      select k.level, k.index, encode(coalesce(n.hash, l.leaf_hash), 'hex') as hash
      from unnest(${keys.map((k) => k.level)}::smallint[], ${keys.map((k) => k.index)}::bigint[]) as k(level, index)
      left join log_nodes n on k.level > 0 and n.level = k.level and n.index = k.index
      left join log_leaves l on k.level = 0 and l.log_index = k.index
    ) x on true`.execute(db);
  const size = Number(rows[0]?.size ?? 0);
  if (treeSize > size) throw new LogRangeError(field, `the log has ${size} leaves, fewer than ${treeSize}`);
  const nodes = new Map<string, Hash>();
  for (const r of rows) if (r.hash !== null) nodes.set(`${r.level}/${r.index}`, fromHex(r.hash));
  return build(
    storedSubtrees((level, index) => {
      const h = nodes.get(`${level}/${index}`);
      if (!h) throw new Error(`the transparency log has no stored subtree at level ${level}, index ${index}`);
      return h;
    }),
  );
}

/** The audit path of a leaf in the tree of `treeSize` leaves (at most the log's size now). */
export async function inclusion(db: Db, leafIndex: number, treeSize: number): Promise<{ leaf_hash: Hash; proof: Hash[] }> {
  if (leafIndex >= treeSize) throw new LogRangeError('leaf_index', `leaf ${leafIndex} is not in a tree of ${treeSize} leaves`);
  return proofFromStore(db, treeSize, 'tree_size', (subtree) => ({ leaf_hash: subtree(leafIndex, leafIndex + 1), proof: inclusionProof(leafIndex, treeSize, subtree) }));
}

/** The consistency proof between the trees of `from` and `to` leaves (`to` at most the log's size now). */
export async function consistency(db: Db, from: number, to: number): Promise<Hash[]> {
  if (from > to) throw new LogRangeError('from', `a tree of ${from} leaves cannot be a prefix of one of ${to}`);
  return proofFromStore(db, to, 'to', (subtree) => consistencyProof(from, to, subtree));
}

/** The leaf hashes of [start, end), in order. */
export async function leafHashes(db: Db, start: number, end: number): Promise<Hash[]> {
  const head = await treeHead(db);
  if (end > head.size) throw new LogRangeError('end', `the log has ${head.size} leaves, fewer than ${end}`);
  if (start > end) throw new LogRangeError('start', `start ${start} is after end ${end}`);
  const { rows } = await sql<{ hash: string }>`
    select encode(leaf_hash, 'hex') as hash from log_leaves where log_index >= ${start} and log_index < ${end} order by log_index`.execute(db);
  return rows.map((r) => fromHex(r.hash));
}

/** Leaves integrated in one transaction at most. */
const DEFAULT_BATCH = 2000;

export type IntegrateResult = { integrated: number; size: number } | { busy: true };

/**
 * The sequencer's step: in one transaction, with the log's head row locked (another instance
 * holding it is left to it: `busy`), the oldest queued audit events, in id order, become the next
 * leaves: each gets the next log_index, its leaf hash and the subtrees it completes are stored,
 * it leaves the queue, and the head moves to the new size and root. The events' own transactions
 * are long committed: nothing here slows a transition.
 */
export async function integrate(db: Db, limit = DEFAULT_BATCH): Promise<IntegrateResult> {
  return db.transaction().execute(async (trx) => {
    const { rows: heads } = await sql<{ size: string; root: string }>`
      select size, encode(root, 'hex') as root from log_head for update skip locked`.execute(trx);
    const head = heads[0];
    if (!head) return { busy: true as const };
    const size = Number(head.size);
    // The queue's ids, then their events by key: as one join, the planner may walk the whole audit
    // table (measured: 110 ms at 100,000 events once the queue's statistics were those of a backlog).
    const { rows: queued } = await sql<{ audit_id: string }>`select audit_id from log_queue order by audit_id limit ${limit}`.execute(trx);
    if (queued.length === 0) return { integrated: 0, size };
    const { rows: found } = await sql<{ id: string; hash: string }>`
      select id, hash from audit_events where id = any(${queued.map((q) => q.audit_id)}::bigint[])`.execute(trx);
    const hashOf = new Map(found.map((e) => [String(e.id), e.hash]));
    // An event that is queued but gone (deleted behind the append-only trigger) is not in the log:
    // it stays queued, where verification names it.
    const events = queued.flatMap((q) => {
      const hash = hashOf.get(String(q.audit_id));
      return hash === undefined ? [] : [{ audit_id: q.audit_id, hash }];
    });
    if (events.length === 0) return { integrated: 0, size };

    const edgeKeys = rightEdge(size);
    const stored = await readNodes(trx, edgeKeys);
    const edge: Node[] = edgeKeys.map((k) => ({ ...k, hash: stored.get(`${k.level}/${k.index}`)! }));
    const leaves: string[] = [];
    const levels: number[] = [];
    const indexes: number[] = [];
    const hashes: string[] = [];
    for (const [k, e] of events.entries()) {
      const leaf = leafHash(fromHex(e.hash));
      leaves.push(hex(leaf));
      const created = (n: Node) => {
        if (n.level === 0) return; // kept with its leaf
        levels.push(n.level);
        indexes.push(n.index);
        hashes.push(hex(n.hash));
      };
      appendToEdge(edge, leaf, created, size + k);
    }
    const newSize = size + events.length;
    const root = rootOfEdge(edge);
    const ids = events.map((e) => e.audit_id);
    await sql`
      insert into log_leaves (log_index, audit_id, leaf_hash)
      select ${size} + o - 1, id, decode(h, 'hex') from unnest(${ids}::bigint[], ${leaves}::text[]) with ordinality as x(id, h, o)`.execute(trx);
    if (levels.length > 0) {
      await sql`
        insert into log_nodes (level, index, hash)
        select l, i, decode(h, 'hex') from unnest(${levels}::smallint[], ${indexes}::bigint[], ${hashes}::text[]) as x(l, i, h)`.execute(trx);
    }
    await sql`delete from log_queue where audit_id = any(${ids}::bigint[])`.execute(trx);
    await sql`update log_head set size = ${newSize}, root = decode(${hex(root)}, 'hex')`.execute(trx);
    return { integrated: events.length, size: newSize };
  });
}

/**
 * Integrates what is queued now: batch after batch while they come full (a backlog), stopping at
 * the first one that is not (the queue was empty when it was read) or when another instance holds
 * the log. Under a steady stream of events it does one batch, not a loop chasing each new event.
 */
export async function integrateAll(db: Db, limit = DEFAULT_BATCH): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await integrate(db, limit);
    if ('busy' in r) return total;
    total += r.integrated;
    if (r.integrated < limit) return total;
  }
}

export type StoredCheckpoint = { tree_size: number; root: Hash; note: string; signed_at: Date };

export async function latestCheckpoint(db: DbOrTrx): Promise<StoredCheckpoint | null> {
  const { rows } = await sql<{ tree_size: string; root: string; note: string; signed_at: Date }>`
    select tree_size, encode(root, 'hex') as root, note, signed_at from log_checkpoints order by tree_size desc limit 1`.execute(db);
  const r = rows[0];
  return r ? { tree_size: Number(r.tree_size), root: fromHex(r.root), note: r.note, signed_at: new Date(r.signed_at) } : null;
}

/**
 * Signs a checkpoint of the tree as it is, when it has grown since the last one and that one is at
 * least `minIntervalMs` old (or there is none yet). Under the head's lock, so instances sign one at
 * a time and never two checkpoints of one size.
 */
export async function signCheckpoint(db: Db, opts: { signer: NoteSigner; origin: string; now: Date; minIntervalMs: number }): Promise<StoredCheckpoint | null> {
  // Most rounds sign nothing: that is read without a lock first.
  const [head, latest] = await Promise.all([treeHead(db), latestCheckpoint(db)]);
  if (latest && (latest.tree_size >= head.size || opts.now.getTime() - latest.signed_at.getTime() < opts.minIntervalMs)) return null;
  return db.transaction().execute(async (trx) => {
    const { rows: heads } = await sql<{ size: string; root: string }>`
      select size, encode(root, 'hex') as root from log_head for update`.execute(trx);
    const head = heads[0]!;
    const size = Number(head.size);
    const last = await latestCheckpoint(trx);
    if (last && (last.tree_size >= size || opts.now.getTime() - last.signed_at.getTime() < opts.minIntervalMs)) return null;
    const root = fromHex(head.root);
    const note = signNote(formatCheckpoint({ origin: opts.origin, size, root }), [opts.signer]);
    await sql`
      insert into log_checkpoints (tree_size, root, note, signed_at)
      values (${size}, decode(${head.root}, 'hex'), ${note}, ${opts.now})`.execute(trx);
    return { tree_size: size, root, note, signed_at: opts.now };
  });
}

/** Each audit event's log_index, for those that have one. */
export async function logIndexes(db: DbOrTrx, auditIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (auditIds.length === 0) return out;
  const { rows } = await sql<{ audit_id: string; log_index: string }>`
    select audit_id, log_index from log_leaves where audit_id = any(${auditIds}::bigint[])`.execute(db);
  for (const r of rows) out.set(String(r.audit_id), Number(r.log_index));
  return out;
}
