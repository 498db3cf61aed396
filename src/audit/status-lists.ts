// What verification vouches for of the credentials and status lists (SPEC §8, §4). A list's bits
// are not stored: they are read from each certificate's status (checked against its replay with the
// register row) at its fixed status index. What remains to check is that index: every credential
// issued for a certificate, as signed, must point at the certificate's index in each list, or a
// verifier holding it would read another certificate's bit. And every credential stored must be
// the one its CREDENTIALS_ISSUED event on the registry chain audited (the hash of its JWS), and
// every one audited must still be stored.
import { createHash } from 'node:crypto';
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import { placeOf, STATUS_PURPOSES } from '../credentials/status-list.js';
import { CREDENTIALS_ISSUED } from '../credentials/credential.js';
import { REGISTRY_CHAIN } from './audit.js';
import type { VerifyFailure } from './projections.js';

const LIST_URL = /\/v1\/status-lists\/([a-z]+)\/(\d+)$/;

/** What a credential's JWS payload states of its status entries, or why it cannot be read. */
function entriesOf(jwt: string): Array<{ purpose: string; list: number; index: number }> | string {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { credentialStatus?: unknown };
    if (!Array.isArray(payload.credentialStatus)) return 'it has no credentialStatus';
    return payload.credentialStatus.map((e: { statusPurpose?: string; statusListIndex?: string; statusListCredential?: string }) => {
      const m = LIST_URL.exec(String(e.statusListCredential));
      return { purpose: String(e.statusPurpose), list: m && m[1] === e.statusPurpose ? Number(m[2]) : -1, index: Number(e.statusListIndex) };
    });
  } catch {
    return 'its payload is not readable JSON';
  }
}

type Audited = { number: string; case_id: string; kid: string; status_index: string; facts_sha256: string; jwt_sha256: string; seq: number };

export async function statusIndexFailures(db: Db): Promise<VerifyFailure[]> {
  // The credentials and the events that audit them in one snapshot: one issued meanwhile is in both or in neither.
  const { rows, events } = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => ({
      rows: (
        await sql<{ number: string; case_id: string; status_index: string; credential_index: string; kid: string; facts_sha256: string; jwt: string; issued_at: Date }>`
          select c.number, c.case_id::text as case_id, c.status_index::text as status_index, k.status_index::text as credential_index,
                 k.kid, k.facts_sha256, k.jwt, k.issued_at
            from certificate_credentials k
            join certificates c on c.number = k.number
           order by c.case_id, c.number, k.issued_at`.execute(trx)
      ).rows,
      events: await trx.selectFrom('audit_events').select(['seq', 'payload']).where('chain_id', '=', REGISTRY_CHAIN).where('type', '=', CREDENTIALS_ISSUED).orderBy('seq').execute(),
    }));
  const audited = new Map<string, Audited>();
  for (const e of events) {
    const list = (e.payload as { credentials?: unknown }).credentials;
    for (const c of Array.isArray(list) ? (list as Audited[]) : []) audited.set(`${c.number}\n${c.facts_sha256}`, { ...c, seq: e.seq });
  }
  const byCertificate = new Map<string, { case_id: string; problems: string[] }>();
  const seen = new Set<string>();
  for (const r of rows) {
    const place = placeOf(Number(r.status_index));
    const problems: string[] = [];
    const at = new Date(r.issued_at).toISOString();
    const key = `${r.number}\n${r.facts_sha256}`;
    seen.add(key);
    const event = audited.get(key);
    if (!event) problems.push(`the credential issued at ${at} has no ${CREDENTIALS_ISSUED} event in the registry chain`);
    else if (event.jwt_sha256 !== createHash('sha256').update(r.jwt).digest('hex') || event.kid !== r.kid || event.status_index !== r.credential_index)
      problems.push(`the credential issued at ${at} is not the one registry event ${event.seq} audited (its JWS hash, key or index differs)`);
    if (r.credential_index !== r.status_index) problems.push(`the credential issued at ${at} is recorded with index ${r.credential_index}`);
    const entries = entriesOf(r.jwt);
    if (typeof entries === 'string') problems.push(`the credential issued at ${at} cannot be read: ${entries}`);
    else {
      for (const purpose of STATUS_PURPOSES) {
        const e = entries.find((x) => x.purpose === purpose);
        if (!e) problems.push(`the credential issued at ${at} has no ${purpose} entry`);
        else if (e.list !== place.list || e.index !== place.index) problems.push(`the credential issued at ${at} points at ${purpose} list ${e.list} index ${e.index}`);
      }
    }
    if (problems.length === 0) continue;
    const cert = byCertificate.get(r.number) ?? { case_id: r.case_id, problems: [] };
    cert.problems.push(...problems);
    byCertificate.set(r.number, cert);
  }
  const failures = [...byCertificate].map(([number, c]): VerifyFailure => {
    const place = placeOf(Number(rows.find((r) => r.number === number)!.status_index));
    return {
      case_id: c.case_id,
      subject: { kind: 'certificate' as const, id: number },
      seq: 0,
      reason: `credentials: the certificate's status index is list ${place.list} index ${place.index}, and ${c.problems.join('; ')}`,
    };
  });
  for (const [key, c] of audited) {
    if (seen.has(key)) continue;
    failures.push({ case_id: c.case_id ?? null, subject: { kind: 'certificate', id: c.number }, seq: c.seq, reason: `credentials: registry event ${c.seq} audited a credential of this certificate (facts ${c.facts_sha256.slice(0, 12)}…), and it is no longer stored` });
  }
  return failures;
}
