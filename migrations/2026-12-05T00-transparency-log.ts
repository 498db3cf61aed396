import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The transparency log (SPEC §7): every audit event is one leaf of an append-only RFC 9162 Merkle
// tree. Audit rows are never updated, so the log lives in tables of its own:
//
// - log_queue: the audit events not yet in the log. A statement trigger on audit_events fills it
//   in the event's own transaction (no writer can forget it); the sequencer
//   (src/transparency/sequencer.ts) empties it off that transaction.
// - log_leaves: each audit event's place in the log (log_index, from 0, no gaps; each event once)
//   and its leaf hash.
// - log_nodes: the hash of every complete subtree above the leaves (level 1 and up): a proof is a
//   few rows read by key, however large the tree.
// - log_head: the one row the sequencer locks, holding the tree's size and root: several instances
//   may run the sequencer, one at a time extends the tree.
// - log_checkpoints: the signed checkpoints (C2SP signed notes). The key that signs them is never
//   in the database.
//
// Events already stored join the queue here, in id order, so an existing registry's history gets
// its log as soon as the sequencer runs.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table log_queue (audit_id bigint primary key)`.execute(db);
  await sql`
    create table log_leaves (
      log_index bigint primary key check (log_index >= 0),
      audit_id bigint not null unique,
      leaf_hash bytea not null check (length(leaf_hash) = 32)
    )`.execute(db);
  await sql`
    create table log_nodes (
      level smallint not null check (level between 1 and 63),
      index bigint not null check (index >= 0),
      hash bytea not null check (length(hash) = 32),
      primary key (level, index)
    )`.execute(db);
  await sql`
    create table log_head (
      id boolean primary key default true check (id),
      size bigint not null check (size >= 0),
      root bytea not null check (length(root) = 32)
    )`.execute(db);
  await sql`insert into log_head (id, size, root) values (true, 0, sha256(''::bytea))`.execute(db);
  await sql`
    create table log_checkpoints (
      tree_size bigint primary key check (tree_size >= 0),
      root bytea not null check (length(root) = 32),
      note text not null,
      signed_at timestamptz not null
    )`.execute(db);

  await sql`
    create function log_enqueue() returns trigger language plpgsql as $$
    begin
      insert into log_queue (audit_id) select id from inserted;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger audit_events_log_enqueue after insert on audit_events
    referencing new table as inserted for each statement execute function log_enqueue()`.execute(db);

  // Leaves, nodes and checkpoints are written once: like audit rows, never updated or deleted.
  await sql`
    create function log_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = '42501';
    end $$`.execute(db);
  for (const t of ['log_leaves', 'log_nodes', 'log_checkpoints']) {
    await sql`create trigger ${sql.id(`${t}_append_only`)} before update or delete on ${sql.table(t)} for each row execute function log_refuse_change()`.execute(db);
  }

  await sql`insert into log_queue (audit_id) select id from audit_events`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger audit_events_log_enqueue on audit_events`.execute(db);
  await sql`drop function log_enqueue()`.execute(db);
  for (const t of ['log_checkpoints', 'log_head', 'log_nodes', 'log_leaves', 'log_queue']) await sql`drop table ${sql.table(t)}`.execute(db);
  await sql`drop function log_refuse_change()`.execute(db);
}
