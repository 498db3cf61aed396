import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// Each instance caches principals by token hash; these let a revocation tell every instance and
// wait until each has dropped its copy (src/services/principal-notifications.ts says why that is
// enough). The trigger makes every change to principals, whoever makes it (the service, the CLI,
// psql), bump one counter and NOTIFY it when it commits: the counter row is locked until commit,
// so generations are numbered in commit order, the order listeners receive them in.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table principal_cache_generation (
    id boolean primary key default true check (id),
    generation bigint not null
  )`.execute(db);
  await sql`insert into principal_cache_generation (generation) values (0)`.execute(db);
  // One row per running instance: until when it may trust its cache (its lease), and the last
  // generation it has dropped its cached principals for.
  await sql`create table principal_cache_instances (
    id uuid primary key,
    lease_until timestamptz not null,
    acked bigint not null
  )`.execute(db);
  await sql`create function principals_changed() returns trigger language plpgsql as $$
    declare g bigint;
    begin
      update principal_cache_generation set generation = generation + 1 returning generation into g;
      perform pg_notify('principals_changed', g::text);
      return null;
    end $$`.execute(db);
  await sql`create trigger principals_changed after update or delete or truncate on principals
    for each statement execute function principals_changed()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger principals_changed on principals`.execute(db);
  await sql`drop function principals_changed()`.execute(db);
  await sql`drop table principal_cache_instances`.execute(db);
  await sql`drop table principal_cache_generation`.execute(db);
}
