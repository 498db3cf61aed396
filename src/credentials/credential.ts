// A certificate's verifiable credential (SPEC §8): a W3C VC 2.0 whose subject is the certificate's
// facts, with one BitstringStatusListEntry per purpose at the certificate's fixed status index.
// Every credential issued is kept as signed (certificate_credentials): it is served again while the
// facts it states are the certificate's, and keeps verifying after a key rotation (the old key
// stays in the JWKS). When the facts change (a renamed holder, a new lab, a new validity) the next
// request issues a new one with the same status indexes.
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/types.js';
import { signCredential } from './sign.js';
import type { IssuerKey } from './keys.js';
import { placeOf, STATUS_PURPOSES, statusListUrl } from './status-list.js';

type Facts = {
  number: string;
  status_index: string;
  scheme: string;
  scheme_title: string | null;
  holder_name: string;
  holder_name_en: string | null;
  credit_code: string | null;
  registration_number: string | null;
  product_name: string;
  product_version: string;
  product_kind: string | null;
  lab_name: string | null;
  scope: string | null;
  issued_at: Date;
  valid_until: Date;
};

async function factsOf(db: DbOrTrx, number: string): Promise<Facts | undefined> {
  const r = await sql<Facts>`
    select c.number, c.status_index::text as status_index, c.scheme, s.title as scheme_title,
           c.holder_name, c.holder_name_en, o.credit_code, o.registration_number,
           c.product_name, c.product_version, p.kind as product_kind, c.lab_name,
           k.record -> 'certificate' ->> 'scope' as scope, c.issued_at, c.valid_until
      from certificates c
      join cases k on k.id = c.case_id
      join organizations o on o.id = c.holder_id
      left join products p on p.id = c.product_id
      left join schemes s on s.code = c.scheme
     where c.number = ${number}`.execute(db);
  return r.rows[0];
}

const compact = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));

/** The credential's claims but its id: what the facts hash covers. */
function claimsOf(f: Facts, opts: { issuerUrl: string; publicUrl: string }) {
  const validFrom = new Date(f.issued_at).toISOString();
  const validUntil = new Date(f.valid_until).toISOString();
  const place = placeOf(Number(f.status_index));
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiableCredential', 'CertificationCredential'],
    issuer: opts.issuerUrl,
    name: `Certificate ${f.number}`,
    validFrom,
    validUntil,
    credentialSubject: {
      type: 'CertifiedProduct',
      certificateNumber: f.number,
      holder: compact({ name: f.holder_name, nameEn: f.holder_name_en, creditCode: f.credit_code, registrationNumber: f.registration_number }),
      product: compact({ name: f.product_name, version: f.product_version, kind: f.product_kind }),
      scheme: compact({ code: f.scheme, title: f.scheme_title }),
      scope: f.scope,
      lab: compact({ name: f.lab_name }),
      validFrom,
      validUntil,
    },
    credentialStatus: STATUS_PURPOSES.map((purpose) => {
      const list = statusListUrl(opts.publicUrl, purpose, place.list);
      return { id: `${list}#${place.index}`, type: 'BitstringStatusListEntry', statusPurpose: purpose, statusListIndex: String(place.index), statusListCredential: list };
    }),
  };
}

/** The certificate's credential (vc+jwt), issued now when none states its current facts; undefined for an unknown number. */
export async function credentialOf(db: DbOrTrx, number: string, opts: { issuerUrl: string; publicUrl: string; key: IssuerKey; now: () => Date }): Promise<string | undefined> {
  const facts = await factsOf(db, number);
  if (!facts) return undefined;
  const claims = claimsOf(facts, opts);
  const factsSha256 = createHash('sha256').update(JSON.stringify(claims)).digest('hex');
  const stored = await db.selectFrom('certificate_credentials').select('jwt').where('number', '=', number).where('facts_sha256', '=', factsSha256).executeTakeFirst();
  if (stored) return stored.jwt;
  const now = opts.now();
  const jwt = await signCredential({ ...claims, id: `urn:uuid:${randomUUID()}`, iat: Math.floor(now.getTime() / 1000) }, opts.key);
  // Two instances issuing at once: the first stored is the one both serve.
  await db
    .insertInto('certificate_credentials')
    .values({ number, facts_sha256: factsSha256, status_index: facts.status_index, kid: opts.key.kid, jwt, issued_at: now })
    .onConflict((oc) => oc.columns(['number', 'facts_sha256']).doNothing())
    .execute();
  const kept = await db.selectFrom('certificate_credentials').select('jwt').where('number', '=', number).where('facts_sha256', '=', factsSha256).executeTakeFirstOrThrow();
  return kept.jwt;
}
