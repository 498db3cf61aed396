import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// Verifiable certificates (SPEC §8).
//
// - certificates.status_index: the certificate's place in the status lists (W3C Bitstring Status
//   List), the same index in the revocation and in the suspension list, fixed at issuance and
//   written in its credentials. A list's bits are not stored: they are read from the certificates
//   rows (status 'revoked' or 'suspended' at the index), which the engine writes in the same
//   statement as the event that changes the status, so a bit can never disagree with its event.
//   Indexes come from a sequence (gaps allowed, never reused); the engine takes one only for a
//   certificate that has none (src/cases/write.ts: a default alone would take one for every upsert).
// - certificate_credentials: every credential issued, as signed. A credential signed before a key
//   rotation must keep verifying and be served as it was: it is kept, not signed again. A new one is
//   issued when the certificate's facts change (their SHA-256 is the key).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create sequence certificate_status_index minvalue 0 start 0`.execute(db);
  await sql`alter table certificates add column status_index bigint`.execute(db);
  await sql`
    update certificates c set status_index = n.i
      from (select number, nextval('certificate_status_index') as i from (select number from certificates order by issued_at, number) o) n
     where c.number = n.number`.execute(db);
  await sql`alter table certificates alter column status_index set not null`.execute(db);
  // The engine names the index (taking one only for a new certificate); a row written by other means gets one too.
  await sql`alter table certificates alter column status_index set default nextval('certificate_status_index')`.execute(db);
  await sql`alter table certificates add constraint certificates_status_index_key unique (status_index)`.execute(db);
  await sql`alter table certificates add constraint certificates_status_index_check check (status_index >= 0)`.execute(db);
  // A status list reads only its set bits: the suspended or revoked certificates in its index range.
  await sql`create index certificates_status_bits_idx on certificates (status, status_index) where status in ('suspended', 'revoked')`.execute(db);
  await sql`
    create table certificate_credentials (
      number text not null references certificates (number),
      facts_sha256 text not null,
      status_index bigint not null,
      kid text not null,
      jwt text not null,
      issued_at timestamptz not null,
      primary key (number, facts_sha256)
    )`.execute(db);
  await sql`create index certificate_credentials_latest_idx on certificate_credentials (number, issued_at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table certificate_credentials`.execute(db);
  await sql`drop index certificates_status_bits_idx`.execute(db);
  await sql`alter table certificates drop column status_index`.execute(db);
  await sql`drop sequence certificate_status_index`.execute(db);
}
