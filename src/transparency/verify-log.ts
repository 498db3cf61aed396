// What the transparency log lets the audit verification catch (SPEC §4, §7): every audit event has
// its one leaf (or waits in the queue), every leaf still is the hash of its event, and the tree
// rebuilt from the events has, at each signed checkpoint's size, that checkpoint's root. An event
// deleted, a chain cut short or rewritten with recomputed hashes, a case deleted with its history,
// the audit table truncated: each changes a leaf or the tree under a signature the database cannot
// forge. A log rebuilt and re-signed with the real key is what a witness catches (src/transparency/witness.ts).
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import { parseCheckpoint } from './checkpoint.js';
import { appendToEdge, emptyRoot, leafHash, rightEdge, rootOfEdge, storedSubtrees, type Hash, type Node } from './merkle.js';
import { openNote, type NoteVerifier } from './note.js';
import { readNodes, treeHead } from './log.js';

export type LogFailure = { reason: string };
export type LogReport = { leaves_checked: number; failures: LogFailure[] };

type CheckpointRow = { tree_size: string; root: string; note: string; signed_at: Date };
type LeafRow = { log_index: string; audit_id: string; event_hash: string | null; chain_id: string | null; seq: number | null; leaf_hash: string | null };

/**
 * The leaves from `from` on, each with its audit event (null fields when the event is gone). The
 * sequencer integrates events in id order, so a batch's events are mostly one range of ids: read
 * as a range scan rather than one index probe per leaf, unless the ids are spread wide.
 */
async function readLeaves(db: Db, from: number, limit: number): Promise<LeafRow[]> {
  const { rows: leaves } = await sql<{ log_index: string; audit_id: string; leaf_hash: string }>`
    select log_index, audit_id, encode(leaf_hash, 'hex') as leaf_hash from log_leaves
    where log_index >= ${from} order by log_index limit ${limit}`.execute(db);
  if (leaves.length === 0) return [];
  let min = BigInt(leaves[0]!.audit_id);
  let max = min;
  for (const l of leaves) {
    const id = BigInt(l.audit_id);
    if (id < min) min = id;
    if (id > max) max = id;
  }
  type Ev = { id: string; hash: string; chain_id: string; seq: number };
  const { rows: events } =
    max - min < BigInt(4 * limit)
      ? await sql<Ev>`select id, hash, chain_id, seq from audit_events where id between ${String(min)} and ${String(max)}`.execute(db)
      : await sql<Ev>`select id, hash, chain_id, seq from audit_events where id = any(${leaves.map((l) => l.audit_id)}::bigint[])`.execute(db);
  const byId = new Map(events.map((e) => [String(e.id), e]));
  return leaves.map((l) => {
    const e = byId.get(String(l.audit_id));
    return { log_index: l.log_index, audit_id: l.audit_id, leaf_hash: l.leaf_hash, event_hash: e?.hash ?? null, chain_id: e?.chain_id ?? null, seq: e?.seq ?? null };
  });
}

/** At most this many failures of one sort are named (a truncated table would name every leaf). */
const MAX_NAMED = 20;

export async function verifyLog(db: Db, opts: { verifiers: NoteVerifier[]; origin: string; batchSize?: number; readOnly?: boolean }): Promise<LogReport> {
  const batch = opts.batchSize ?? 10_000;
  const failures: LogFailure[] = [];
  const counts = new Map<string, number>();
  const fail = (sort: string, reason: string) => {
    const n = (counts.get(sort) ?? 0) + 1;
    counts.set(sort, n);
    if (n <= MAX_NAMED) failures.push({ reason });
  };

  const head = await treeHead(db);
  const { rows: checkpoints } = await sql<CheckpointRow>`
    select tree_size, encode(root, 'hex') as root, note, signed_at from log_checkpoints order by tree_size`.execute(db);
  // Each checkpoint's note must verify with the log's own keys (never read from the database) and
  // say what its row says; the rows are then the roots the rebuilt tree must reach.
  const signed: Array<{ size: number; root: Hash; at: string }> = [];
  for (const c of checkpoints) {
    const at = new Date(c.signed_at).toISOString();
    if (opts.readOnly) continue;
    try {
      const body = parseCheckpoint(openNote(c.note, opts.verifiers).text);
      if (body.origin !== opts.origin) throw new Error(`it is signed for the log ${body.origin}, this log is ${opts.origin}`);
      if (body.size !== Number(c.tree_size) || body.root.toString('hex') !== c.root) throw new Error('its row says another size or root than its signed note');
      signed.push({ size: body.size, root: body.root, at });
    } catch (err) {
      fail('checkpoint', `transparency log: the checkpoint of size ${c.tree_size} signed at ${at} does not verify: ${(err as Error).message}`);
    }
  }

  // The leaves in order, each with its audit event and its stored leaf hash; the tree rebuilt from
  // the events as they are now.
  const edge: Node[] = [];
  while (signed[0]?.size === 0) {
    const cp = signed.shift()!;
    if (!cp.root.equals(emptyRoot())) fail('root', `transparency log: the empty checkpoint signed at ${cp.at} does not have the empty tree’s root`);
  }
  let expected = 0;
  // Each batch is read while the one before is hashed.
  let pending = readLeaves(db, 0, batch);
  for (;;) {
    const rows = await pending;
    if (rows.length === 0) break;
    pending = readLeaves(db, Number(rows.at(-1)!.log_index) + 1, batch);
    pending.catch(() => {}); // seen when awaited; an early break must not leave it unhandled
    if (opts.readOnly) {
      expected += rows.length;
      continue;
    }
    for (const r of rows) {
      const index = Number(r.log_index);
      if (index !== expected) {
        fail('gap', `transparency log: leaves ${expected} to ${index - 1} are missing`);
        // The tree can only be rebuilt up to the gap.
        expected = Number.NaN;
        break;
      }
      let leaf: Hash;
      if (r.event_hash === null) {
        fail('gone', `transparency log: leaf ${index} is an audit event (id ${r.audit_id}) that is no longer in the audit trail`);
        if (r.leaf_hash === null) {
          fail('node', `transparency log: leaf ${index} has no stored hash`);
          expected = Number.NaN;
          break;
        }
        leaf = Buffer.from(r.leaf_hash, 'hex');
      } else {
        leaf = leafHash(Buffer.from(r.event_hash, 'hex'));
        if (r.leaf_hash !== leaf.toString('hex')) fail('changed', `transparency log: leaf ${index} no longer matches its audit event (${r.chain_id} seq ${r.seq}): the event was rewritten`);
      }
      appendToEdge(edge, leaf, undefined, expected);
      expected++;
      while (signed[0] && signed[0].size === expected) {
        const cp = signed.shift()!;
        if (!rootOfEdge(edge).equals(cp.root)) {
          fail('root', `transparency log: the first ${cp.size} leaves, rebuilt from the audit trail, no longer give the root signed at ${cp.at}: history was rewritten`);
        }
      }
    }
    if (Number.isNaN(expected)) break;
  }
  if (opts.readOnly) return { leaves_checked: expected, failures };

  const leaves = Number.isNaN(expected) ? null : expected;
  for (const cp of signed) {
    if (leaves !== null && cp.size > leaves) fail('shrunk', `transparency log: a checkpoint signed at ${cp.at} covers ${cp.size} leaves, the log now has ${leaves}: the log lost its tail`);
  }
  if (leaves !== null) {
    if (leaves !== head.size) fail('head', `transparency log: the log's head says ${head.size} leaves, ${leaves} are stored`);
    else if (!rootOfEdge(edge).equals(head.root)) fail('head', 'transparency log: the head’s root is not the root of the stored leaves');
    else if (leaves > 0) {
      // Proofs are served from the stored subtrees: they must give the same root.
      let ok: boolean;
      try {
        const stored = await readNodes(db, rightEdge(leaves));
        ok = storedSubtrees((l, i) => stored.get(`${l}/${i}`)!)(0, leaves).equals(head.root);
      } catch {
        ok = false; // a subtree is missing
      }
      if (!ok) fail('node', 'transparency log: the stored subtree hashes do not give the log’s root: the proofs it serves would not verify');
    }
  }

  // Every audit event is in the log or waiting for it, and once.
  const { rows: missing } = await sql<{ id: string; chain_id: string; seq: number }>`
    select a.id, a.chain_id, a.seq from audit_events a
    where not exists (select 1 from log_leaves l where l.audit_id = a.id)
      and not exists (select 1 from log_queue q where q.audit_id = a.id)
    order by a.id limit ${MAX_NAMED}`.execute(db);
  for (const m of missing) fail('unlogged', `transparency log: the audit event ${m.chain_id} seq ${m.seq} (id ${m.id}) is neither in the log nor queued for it`);
  const { rows: twice } = await sql<{ audit_id: string; n: string }>`
    select audit_id, count(*) as n from log_leaves group by audit_id having count(*) > 1 order by audit_id limit ${MAX_NAMED}`.execute(db);
  for (const d of twice) fail('twice', `transparency log: the audit event id ${d.audit_id} is ${d.n} leaves`);
  const { rows: lost } = await sql<{ audit_id: string }>`
    select q.audit_id from log_queue q where not exists (select 1 from audit_events a where a.id = q.audit_id) order by q.audit_id limit ${MAX_NAMED}`.execute(db);
  for (const q of lost) fail('gone', `transparency log: the audit event id ${q.audit_id}, queued for the log, is no longer in the audit trail`);

  for (const [sort, n] of counts) if (n > MAX_NAMED) failures.push({ reason: `transparency log: ${n - MAX_NAMED} more failures like the above (${sort})` });
  return { leaves_checked: leaves ?? 0, failures };
}
