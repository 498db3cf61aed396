import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The workbench's sessions (SPEC §6): a browser signs in with a principal's token once and then
// carries an opaque random id in a cookie. Only the id's SHA-256 is stored, so a copy of this table
// cannot be replayed as cookies. A session is alive while expires_at is ahead (each request moves
// it 8 h past last_seen_at) and its principal is not revoked: the workbench reads the session
// joined to its principal on every request, so a revocation ends every session at once, on every
// instance. No cascade: a principal is never deleted, only revoked.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table workbench_sessions (
      id_hash text primary key check (id_hash ~ '^[0-9a-f]{64}$'),
      principal_id uuid not null references principals (id),
      created_at timestamptz not null,
      last_seen_at timestamptz not null,
      expires_at timestamptz not null
    )`.execute(db);
  // Sign-out everywhere and revocation find a principal's sessions; the sweep finds expired ones.
  await sql`create index workbench_sessions_principal_idx on workbench_sessions (principal_id)`.execute(db);
  await sql`create index workbench_sessions_expires_idx on workbench_sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table workbench_sessions`.execute(db);
}
