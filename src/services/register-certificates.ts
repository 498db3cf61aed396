// The public certificate register and verification (SPEC §4b), read from the `certificates`
// projection that triggers keep in step with certification cases (migrations/2026-11-28T02).
import { sql } from 'kysely';
import type { CertificatesTable, DbOrTrx } from '../db/types.js';
import { AppError } from '../errors.js';
import type { Page } from './paging.js';

export const CERTIFICATE_STATUSES = ['valid', 'suspended', 'revoked', 'expired'] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

/** Exactly what the public may see of a certificate: no application, results, notes or contacts. */
export type PublicCertificate = {
  number: string;
  status: CertificateStatus;
  holder: { name: string };
  product: { name: string; version: string };
  scheme: string;
  lab: { name: string | null };
  issued_at: string;
  valid_until: string;
};


const withCertificates = (db: DbOrTrx) => db;

export type CertificateRegisterQuery = { q?: string; scheme?: string; status?: CertificateStatus; limit: number; cursor?: string };

type Row = Pick<CertificatesTable, 'number' | 'scheme' | 'holder_name' | 'product_name' | 'product_version' | 'lab_name' | 'issued_at' | 'valid_until'> & { status: CertificateStatus };

const view = (r: Row): PublicCertificate => ({
  number: r.number,
  status: r.status,
  holder: { name: r.holder_name },
  product: { name: r.product_name, version: r.product_version },
  scheme: r.scheme,
  lab: { name: r.lab_name },
  issued_at: new Date(r.issued_at).toISOString(),
  valid_until: new Date(r.valid_until).toISOString(),
});

function select(db: DbOrTrx, now: Date) {
  return withCertificates(db)
    .selectFrom('certificates')
    .select(['number', 'scheme', 'holder_name', 'product_name', 'product_version', 'lab_name', 'issued_at', 'valid_until'])
    // A certificate past valid_until is expired even before the scheduler has fired its EXPIRE.
    .select(sql<CertificateStatus>`case when status in ('valid', 'suspended') and valid_until <= ${now} then 'expired' else status end`.as('status'));
}

/** Certificate numbers are GDAIC-YYYY-NNNNNN; verification forgives case and surrounding spaces. */
const CERTIFICATE_NUMBER = /^GDAIC-\d{4}-\d{6}$/i;
export const normalizeCertificateNumber = (n: string) => n.trim().toUpperCase();

/** Public verification of one certificate by its number, or null when no such certificate was issued. */
export async function findCertificate(db: DbOrTrx, number: string, now: Date): Promise<PublicCertificate | null> {
  const row = await select(db, now).where('number', '=', normalizeCertificateNumber(number)).executeTakeFirst();
  return row ? view(row as Row) : null;
}

const encode = (r: { issued_at: Date; number: string }) => Buffer.from(JSON.stringify([new Date(r.issued_at).toISOString(), r.number])).toString('base64url');

function decode(cursor: string | undefined): [string, string] | null {
  if (cursor === undefined) return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string' && v[1].length <= 64) return [v[0], v[1]];
  } catch {
    // falls through to the refusal below
  }
  throw new AppError('validation_failed', 'cursor is not one this service issued', { errors: [{ path: 'query/cursor', message: 'is not a valid cursor' }] });
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/**
 * The register: certificates in the order issued, in keyset pages. `q` matches any part of the
 * number, the holder's name (Chinese or English) or the product's name, case-insensitively; with
 * pg_trgm it is answered from a trigram index, otherwise by a scan of the projection.
 */
export async function certificateRegister(db: DbOrTrx, q: CertificateRegisterQuery, now: Date): Promise<Page<PublicCertificate>> {
  const after = decode(q.cursor);
  let query = select(db, now);
  const text = q.q?.trim();
  // A whole certificate number is a primary-key lookup; anything else a substring search.
  if (text && CERTIFICATE_NUMBER.test(text)) query = query.where('number', '=', normalizeCertificateNumber(text));
  else if (text) query = query.where(sql<boolean>`search like lower(${`%${escapeLike(text)}%`})`);
  if (q.scheme) query = query.where('scheme', '=', q.scheme);
  switch (q.status) {
    case 'valid':
    case 'suspended':
      query = query.where('status', '=', q.status).where('valid_until', '>', now);
      break;
    case 'revoked':
      query = query.where('status', '=', 'revoked');
      break;
    case 'expired':
      query = query.where((eb) => eb.or([eb('status', '=', 'expired'), eb.and([eb('status', 'in', ['valid', 'suspended']), eb('valid_until', '<=', now)])]));
      break;
  }
  if (after) query = query.where((eb) => eb(eb.refTuple('issued_at', 'number'), '>', eb.tuple(new Date(after[0]), after[1])));
  const rows = (await query.orderBy('issued_at').orderBy('number').limit(q.limit + 1).execute()) as Row[];
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit);
  return { items: items.map(view), next_cursor: more ? encode(items.at(-1)!) : null };
}

/** One change of a certificate's public status. */
export type PublicStatusChange = { event: string; status: CertificateStatus; at: string; reason: string | null };

// The regulator's reasons for suspending, restoring or revoking are public acts; surveillance
// findings are a lab's results, so a surveillance entry shows only the status it led to.
const PUBLIC_REASONS = new Set(['SUSPEND', 'RESTORE', 'REVOKE']);

/** A certificate's status history, oldest first (issue, surveillance, suspension, …), or null when no such certificate was issued. */
export async function certificateStatusHistory(db: DbOrTrx, number: string): Promise<PublicStatusChange[] | null> {
  const row = await withCertificates(db)
    .selectFrom('certificates as c')
    .innerJoin('cases as k', 'k.id', 'c.case_id')
    .select(sql<Array<{ event: string; status: CertificateStatus; at: string; reason?: string }> | null>`k.record->'status_history'`.as('history'))
    .where('c.number', '=', normalizeCertificateNumber(number))
    .executeTakeFirst();
  if (!row) return null;
  return (row.history ?? []).map((e) => ({
    event: e.event,
    status: e.status,
    at: new Date(e.at).toISOString(),
    reason: PUBLIC_REASONS.has(e.event) && e.reason ? e.reason : null,
  }));
}
