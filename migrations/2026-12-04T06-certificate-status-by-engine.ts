import type { Kysely } from 'kysely';
import { sql } from '../src/db/kysely.js';

// The certificate register's row of a certification case (its state, status, lab and validity) is
// written by the engine in the same statement as the event that changes the case, with the status
// the workflow declares for the state (workflows/certification.ts, state meta certificateStatus).
// The trigger that mapped states to statuses here, a second copy of that table, goes. The rename
// triggers (holder, product and lab names) stay: they follow the registry, not the case.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop trigger cases_certificates on cases`.execute(db);
  await sql`drop function certificates_from_case()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create function certificates_from_case() returns trigger language plpgsql as $$
    declare
      cert jsonb := new.record -> 'certificate';
    begin
      if cert is null then return null; end if;
      insert into certificates as c (number, case_id, state, status, scheme, holder_id, holder_name, holder_name_en,
                                     product_id, product_name, product_version, lab_id, lab_name, issued_at, valid_until)
      select cert ->> 'number', new.id, new.state,
             case new.state when 'certified' then 'valid' when 'suspended' then 'suspended'
                            when 'revoked' then 'revoked' when 'expired' then 'expired' end,
             new.application ->> 'scheme', o.id, o.name, o.name_en, p.id, p.name, p.version, l.id, l.name,
             (cert ->> 'issued_at')::timestamptz, (cert ->> 'valid_until')::timestamptz
        from organizations o
        left join products p on p.id = new.product_id
        left join organizations l on l.id = new.lab_id
       where o.id = new.organization_id
      on conflict (case_id) do update
         set state = excluded.state, status = excluded.status, lab_id = excluded.lab_id, lab_name = excluded.lab_name,
             valid_until = excluded.valid_until
       where c.state is distinct from excluded.state or c.lab_id is distinct from excluded.lab_id
          or c.valid_until is distinct from excluded.valid_until;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger cases_certificates after insert or update on cases
    for each row when (new.kind = 'certification-cases') execute function certificates_from_case()`.execute(db);
}
