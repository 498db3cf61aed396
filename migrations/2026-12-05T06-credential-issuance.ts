import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// Credentials issued on CERTIFY, and audited (SPEC §8).
//
// - credential_queue: the certificates whose credential must be (re)issued: a new certificate, or
//   one whose stated facts changed (holder's names, product, lab, scheme, dates). Statement
//   triggers on certificates fill it in the transaction of the event that wrote the row (no writer
//   can forget it, and a rolled-back CERTIFY leaves nothing); the issuer (src/credentials/issuer.ts)
//   empties it off that transaction in batches, each batch one CREDENTIALS_ISSUED event on the
//   registry chain. A status change alone (SUSPEND, RESTORE, REVOKE) is no new credential: its bit
//   is in the status lists, and the credential keeps its status index.
//
// The service never deletes a certificate row; one deleted behind it takes its queue row along (verification
// names the loss), rather than the queue refusing the delete.
//
// Certificates issued before this migration join the queue, so every one gets its credential.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table credential_queue (number text primary key references certificates (number) on delete cascade)`.execute(db);
  await sql`
    create function credential_enqueue_new() returns trigger language plpgsql as $$
    begin
      insert into credential_queue (number) select number from inserted on conflict do nothing;
      return null;
    end $$`.execute(db);
  await sql`
    create function credential_enqueue_changed() returns trigger language plpgsql as $$
    begin
      insert into credential_queue (number)
      select n.number from updated n join previous o on o.number = n.number
       where (n.holder_id, n.holder_name, n.holder_name_en, n.product_id, n.product_name, n.product_version, n.lab_id, n.lab_name,
              n.scheme, n.issued_at, n.valid_until, n.status_index)
             is distinct from
             (o.holder_id, o.holder_name, o.holder_name_en, o.product_id, o.product_name, o.product_version, o.lab_id, o.lab_name,
              o.scheme, o.issued_at, o.valid_until, o.status_index)
      on conflict do nothing;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger certificates_credential_new after insert on certificates
    referencing new table as inserted for each statement execute function credential_enqueue_new()`.execute(db);
  await sql`
    create trigger certificates_credential_changed after update on certificates
    referencing old table as previous new table as updated for each statement execute function credential_enqueue_changed()`.execute(db);
  await sql`insert into credential_queue (number) select number from certificates`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger certificates_credential_changed on certificates`.execute(db);
  await sql`drop trigger certificates_credential_new on certificates`.execute(db);
  await sql`drop function credential_enqueue_changed()`.execute(db);
  await sql`drop function credential_enqueue_new()`.execute(db);
  await sql`drop table credential_queue`.execute(db);
}
