// A certificate's verifiable credential (SPEC §8): a W3C VC 2.0 whose subject is the certificate's
// facts, with one BitstringStatusListEntry per purpose at the certificate's fixed status index.
// A credential is issued for each new certificate (CERTIFY) and again when the facts it states
// change (a new lab, a new validity, a renamed holder), with the same status indexes: the event that
// writes the certificate row queues it (migrations/2026-12-05T06-credential-issuance.ts), the issuer
// (issuer.ts) signs the queue off the event's transaction, in batches, and a request for one not
// issued yet issues it at once. Every credential issued is kept as signed (certificate_credentials)
// and audited on the registry chain with its hash: it is served again while the facts it states are
// the certificate's, and keeps verifying after a key rotation (the old key stays in the JWKS).
import { createHash, randomUUID } from 'node:crypto';
import { sql } from '../db/kysely.js';
import type { Db, DbOrTrx, Trx } from '../db/types.js';
import { appendRegistryEvent } from '../audit/chains.js';
import { signCredential } from './sign.js';
import type { IssuerKey } from './keys.js';
import { placeOf, STATUS_PURPOSES, statusListUrl } from './status-list.js';

/** The registry chain's event that audits a batch of credentials issued. */
export const CREDENTIALS_ISSUED = 'CREDENTIALS_ISSUED';

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
  case_id: string;
};

async function factsOf(db: DbOrTrx, numbers: string[]): Promise<Facts[]> {
  const r = await sql<Facts>`
    select c.number, c.status_index::text as status_index, c.scheme, s.title as scheme_title,
           c.holder_name, c.holder_name_en, o.credit_code, o.registration_number,
           c.product_name, c.product_version, p.kind as product_kind, c.lab_name,
           k.record -> 'certificate' ->> 'scope' as scope, c.issued_at, c.valid_until, c.case_id::text as case_id
      from certificates c
      join cases k on k.id = c.case_id
      join organizations o on o.id = c.holder_id
      left join products p on p.id = c.product_id
      left join schemes s on s.code = c.scheme
     where c.number = any(${numbers}::text[])
     order by c.number`.execute(db);
  return r.rows;
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

export type IssueOptions = { issuerUrl: string; publicUrl: string; key: IssuerKey; now: () => Date };
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const factsHashOf = (f: Facts, opts: IssueOptions) => sha256(JSON.stringify(claimsOf(f, opts)));

/**
 * Issues, in the caller's transaction, a credential for each of these certificates whose current
 * facts none states yet, and audits them as one CREDENTIALS_ISSUED event on the registry chain
 * (each credential named with the SHA-256 of its JWS, so the chain and the transparency log vouch
 * for the stored credential as signed). Returns how many it issued.
 */
export async function issueCredentials(trx: Trx, numbers: string[], opts: IssueOptions): Promise<number> {
  if (numbers.length === 0) return 0;
  const facts = await factsOf(trx, numbers);
  const hashes = facts.map((f) => factsHashOf(f, opts));
  const have = new Set(
    (
      await trx
        .selectFrom('certificate_credentials')
        .select(['number', 'facts_sha256'])
        .where('number', 'in', numbers)
        .execute()
    ).map((r) => `${r.number}\n${r.facts_sha256}`),
  );
  const now = opts.now();
  const iat = Math.floor(now.getTime() / 1000);
  const issued: Array<{ number: string; case_id: string; credential_id: string; kid: string; status_index: string; facts_sha256: string; jwt: string }> = [];
  for (const [i, f] of facts.entries()) {
    if (have.has(`${f.number}\n${hashes[i]}`)) continue;
    const credential_id = `urn:uuid:${randomUUID()}`;
    const jwt = await signCredential({ ...claimsOf(f, opts), id: credential_id, iat }, opts.key);
    issued.push({ number: f.number, case_id: f.case_id, credential_id, kid: opts.key.kid, status_index: f.status_index, facts_sha256: hashes[i]!, jwt });
  }
  if (issued.length === 0) return 0;
  // Two issuers at once (the issuer and a first request, two instances): the first stored is kept,
  // and only what this transaction stored is audited by it.
  const stored = await trx
    .insertInto('certificate_credentials')
    .values(issued.map((c) => ({ number: c.number, facts_sha256: c.facts_sha256, status_index: c.status_index, kid: c.kid, jwt: c.jwt, issued_at: now })))
    .onConflict((oc) => oc.columns(['number', 'facts_sha256']).doNothing())
    .returning(['number', 'facts_sha256'])
    .execute();
  const kept = new Set(stored.map((r) => `${r.number}\n${r.facts_sha256}`));
  const audited = issued.filter((c) => kept.has(`${c.number}\n${c.facts_sha256}`));
  if (audited.length === 0) return 0;
  await appendRegistryEvent(trx, {
    kind: 'certificate',
    type: CREDENTIALS_ISSUED,
    actor: { principal_id: null, role: 'system' },
    payload: { credentials: audited.map(({ jwt, ...c }) => ({ ...c, jwt_sha256: sha256(jwt) })) },
    at: now,
  });
  return audited.length;
}

/** The certificate's credential (vc+jwt), issued now when none states its current facts; undefined for an unknown number. */
export async function credentialOf(db: Db, number: string, opts: IssueOptions): Promise<string | undefined> {
  const [facts] = await factsOf(db, [number]);
  if (!facts) return undefined;
  const factsSha256 = factsHashOf(facts, opts);
  const current = () => db.selectFrom('certificate_credentials').select('jwt').where('number', '=', number).where('facts_sha256', '=', factsSha256).executeTakeFirst();
  const stored = await current();
  if (stored) return stored.jwt;
  // Not issued yet (the issuer has not reached it, or its facts changed a moment ago): issue it
  // here. The queue row is taken first, as the issuer takes it, so the two wait for each other
  // rather than lock the registry chain's head in opposite orders.
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('credential_queue').where('number', '=', number).execute();
    await issueCredentials(trx, [number], opts);
  });
  const issued = await current();
  if (issued) return issued.jwt;
  // The facts changed again meanwhile: the credential to serve is the one for the facts as they are now.
  return credentialOf(db, number, opts);
}
