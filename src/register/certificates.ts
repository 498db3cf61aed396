// The public certificate register and verification (SPEC §4b), read from the `certificates`
// projection: its status written by the engine in each event's own statement (src/cases/write.ts,
// from the status the certification workflow declares for each state), the holder, product and lab
// names kept by the triggers of migrations/2026-11-28T02, searched through the indexes of 2026-11-29T00.
// A certificate's status history is read from its case's audit history (certificateStatusHistory).
import type { AliasedSelectQueryBuilder, Expression, ExpressionBuilder, RawBuilder, Selectable, SelectQueryBuilder, SqlBool } from 'kysely';
import { sql } from '../db/kysely.js';
import type { Certificates, DB, DbOrTrx } from '../db/types.js';
import { decodeCursor, encodeCursor, type Page } from '../paging.js';
import { CERTIFICATE_NUMBER_PREFIX, CERTIFICATE_STATUS_EVENTS, certificationWorkflow } from '../../workflows/certification.js';

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

type Row = Pick<Selectable<Certificates>, 'number' | 'scheme' | 'holder_name' | 'product_name' | 'product_version' | 'lab_name' | 'issued_at' | 'valid_until'> & { status: CertificateStatus };

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

/** The public columns of certificates; `from` reads them from a subquery of certificates instead of the whole table. */
function select(db: DbOrTrx, now: Date, from?: AliasedSelectQueryBuilder<Selectable<Certificates>, 'certificates'>) {
  return withCertificates(db)
    // A subquery of whole certificate rows, named certificates, reads as the table itself.
    .selectFrom((from ?? 'certificates') as 'certificates')
    .select(['number', 'scheme', 'holder_name', 'product_name', 'product_version', 'lab_name', 'issued_at', 'valid_until'])
    // A certificate past valid_until is expired even before the scheduler has fired its EXPIRE.
    .select(sql<CertificateStatus>`case when status in ('valid', 'suspended') and valid_until <= ${now} then 'expired' else status end`.as('status'));
}

/** Certificate numbers are GDAIC-YYYY-NNNNNN; verification forgives case and surrounding spaces. */
export const CERTIFICATE_NUMBER = new RegExp(`^${CERTIFICATE_NUMBER_PREFIX}-\\d{4}-\\d{6}$`, 'i');
export const normalizeCertificateNumber = (n: string) => n.trim().toUpperCase();

/** Public verification of one certificate by its number, or null when no such certificate was issued. */
export async function findCertificate(db: DbOrTrx, number: string, now: Date): Promise<PublicCertificate | null> {
  const row = await select(db, now).where('number', '=', normalizeCertificateNumber(number)).executeTakeFirst();
  return row ? view(row as Row) : null;
}

const encode = (r: { issued_at: Date; number: string }) => encodeCursor([new Date(r.issued_at).toISOString(), r.number]);

const decode = (cursor: string | undefined): [string, string] | null =>
  decodeCursor(cursor, (v) =>
    v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string' && v[1].length <= 64 ? [v[0], v[1]] : undefined,
  );

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

type CertificateQuery<O> = SelectQueryBuilder<DB, 'certificates', O>;

/** The register's filters besides q (scheme, status with the clock applied, the cursor), for any query of the projection. */
function filtered<O>(query: CertificateQuery<O>, q: CertificateRegisterQuery, after: [string, string] | null, now: Date): CertificateQuery<O> {
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
  return query;
}

const inOrder = <O>(query: CertificateQuery<O>, rows: number) => query.orderBy('issued_at').orderBy('number').limit(rows);

/**
 * Whether pg_trgm can take a useful trigram from the pattern `%text%`, i.e. whether a trigram index
 * can find it. A run of letters and digits gives trigrams when it is three long, counting the
 * padding pg_trgm adds where the run meets a non-word character inside the pattern (two before it,
 * one after it), but none where it meets the pattern's wildcards: "深圳" or "ab" give none, "ab "
 * one. A single character gives only "  x" (a word starting with x), which is in too many names to
 * be worth it, so "a b" counts as giving none.
 */
export function trigramIndexable(text: string): boolean {
  for (const m of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const length = [...m[0]].length;
    const start = m.index === 0;
    const end = m.index + m[0].length === text.length;
    if (length >= 2 && length + (start ? 0 : 2) + (end ? 0 : 1) >= 3) return true;
  }
  return false;
}

/**
 * What q is looked for as. In names: `pattern` (ILIKE, its wildcards escaped), found through the
 * names' trigram indexes or, when q has no trigram ("深圳"), through their indexes of one- and
 * two-character substrings (`grams`: a name holds q only if it holds all of q's, which for one or
 * two characters is exact). In certificate numbers, when q could be part of one: `number`.
 * Numbers are GDAIC-YYYY-NNNNNN: a fragment that starts as they do can only match from their
 * start, which an index of prefixes answers; any other is looked for anywhere in them, through a
 * trigram index when it has a trigram (`indexed`).
 */
const NUMBER_CHARACTERS = new RegExp(`^[${CERTIFICATE_NUMBER_PREFIX}0-9-]+$`, 'i');

function matchOf(text: string) {
  const upper = text.toUpperCase();
  const prefix = `${CERTIFICATE_NUMBER_PREFIX}-`.startsWith(upper) || upper.startsWith(`${CERTIFICATE_NUMBER_PREFIX}-`);
  return {
    pattern: `%${escapeLike(text)}%`,
    grams: !trigramIndexable(text),
    number: NUMBER_CHARACTERS.test(text) ? { like: prefix ? `${upper}%` : `%${upper}%`, indexed: prefix || trigramIndexable(text) } : null,
  };
}

/**
 * maxNames: how many holders (or products) matching q are worth reading the certificates of by
 * id. A q matching more names is common (at least that many certificates match it), and the
 * register read in order fills a page of it sooner.
 * probeRows: how many certificates, in order, are read for a common q before giving that up.
 * (Tests lower them, to take every path with a few certificates.)
 */
export const searchLimits = { maxNames: 1000, probeRows: 2000 };

/**
 * Certificates whose number, holder name (Chinese or English) or product name contains q, as a
 * page of the register. Each field is matched on its own, as the route describes it.
 *
 * Names are looked up where they live, in organizations and products: a few thousand names stand
 * for a million certificates. The certificates of the holders and products found, and those whose
 * number matches, are then read from indexes in (issued_at, number) order per holder or product,
 * so that a page comes from a few index entries whatever the size of the register.
 * A q that matches more than maxNames names is common, and so probably is a q of one or two
 * characters: the register read in order, matched on the copies of the names the projection
 * keeps, soon fills a page of it. If its first probeRows certificates do not, all the names
 * matching q are read after all.
 */
async function search(db: DbOrTrx, text: string, q: CertificateRegisterQuery, after: [string, string] | null, now: Date): Promise<Row[]> {
  const rows = q.limit + 1;
  const { pattern, grams, number } = matchOf(text);

  // Holders and products whose names match, or null for either when more than `max` of them do
  // (then not sent, nor the products read at all if the holders were too many already; max null:
  // no bound). The matches are materialized so that each is planned for finding all of them (a
  // bitmap scan of its indexes) yet stops at the limit, rather than as a scan planned to stop early.
  const names = async (max: number | null) => {
    const limit = max === null ? null : max + 1;
    const matches = (column: 'name' | 'name_en') =>
      grams ? sql`(name_grams(${sql.ref(column)}) @> name_grams(${text}::text) and ${sql.ref(column)} ilike ${pattern})` : sql`${sql.ref(column)} ilike ${pattern}`;
    const within = (ids: RawBuilder<unknown>) => sql`(${max}::int is null or cardinality(${ids}) <= ${max}::int)`;
    const found = await sql<{ holders: string[] | null; products: string[] | null }>`
      with o as materialized (select id from organizations where ${matches('name')} or ${matches('name_en')}),
           p as materialized (select id from products where ${matches('name')}),
           h as materialized (select array(select id from o limit ${limit}) as ids),
           hp as materialized (select h.ids as holders, case when ${within(sql`h.ids`)} then array(select id from p limit ${limit}) end as products from h)
      select case when ${within(sql`holders`)} then holders end as holders,
             case when ${within(sql`products`)} then products end as products
        from hp`.execute(db);
    return found.rows[0]!;
  };

  // Names first when their trigram indexes can find q. A q with no trigram, one or two characters
  // ("深圳", "科技"), may be in most names, which would take long to list: the register in order
  // first, then. So also for a fragment of a number that no index can find, which most numbers hold ("20").
  if (!grams && (!number || number.indexed)) {
    const found = await names(searchLimits.maxNames);
    if (found.holders && found.products) return byIds(found.holders, found.products);
  }
  const inProjection = (eb: ExpressionBuilder<DB, 'certificates'>) =>
    eb.or([
      eb('holder_name', 'ilike', pattern),
      eb('holder_name_en', 'ilike', pattern),
      eb('product_name', 'ilike', pattern),
      ...(number ? [eb('number', 'like', number.like)] : []),
    ]);
  const probe = (await select(db, now, inOrder(filtered(db.selectFrom('certificates').selectAll(), q, after, now), searchLimits.probeRows).as('certificates'))
    .where(inProjection)
    .orderBy('issued_at')
    .orderBy('number')
    .limit(rows)
    .execute()) as Row[];
  if (probe.length === rows) return probe;
  // Less than a page: all there is, unless the probe stopped at its limit before the register's end.
  const read = await db
    .selectFrom(inOrder(filtered(db.selectFrom('certificates').select('number'), q, after, now), searchLimits.probeRows).as('s'))
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  if (Number(read.n) < searchLimits.probeRows) return probe;
  const found = await names(null);
  return byIds(found.holders ?? [], found.products ?? []);

  // A page of the certificates of these holders and products, or whose number matches: the first
  // page of each from its own index (the planner sees how many ids each has, so the certificates
  // of many holders are found walking the register in order, those of a few by sorting their
  // index entries), then the first page of their union, then those certificates' rows.
  async function byIds(holders: string[], products: string[]): Promise<Row[]> {
    const keys = (where: (eb: ExpressionBuilder<DB, 'certificates'>) => Expression<SqlBool>) =>
      db.selectFrom(inOrder(filtered(db.selectFrom('certificates').select(['issued_at', 'number']).where(where), q, after, now), rows).as('b')).selectAll();
    const parts = [
      ...(holders.length ? [keys((eb) => eb('holder_id', '=', eb.fn.any(eb.val(holders))))] : []),
      ...(products.length ? [keys((eb) => eb('product_id', '=', eb.fn.any(eb.val(products))))] : []),
      ...(number ? [keys((eb) => eb('number', 'like', number.like))] : []),
    ];
    if (parts.length === 0) return [];
    const page = db.selectFrom(parts.reduce((a, b) => a.union(b)).as('k')).select('k.number').orderBy('k.issued_at').orderBy('k.number').limit(rows);
    return (await select(db, now).where('number', 'in', page).orderBy('issued_at').orderBy('number').execute()) as Row[];
  }
}

/**
 * The register: certificates in the order issued, in keyset pages. `q` matches any part of the
 * number, the holder's name (Chinese or English) or the product's name, case-insensitively (see
 * search); a whole certificate number is looked up directly.
 */
export async function certificateRegister(db: DbOrTrx, q: CertificateRegisterQuery, now: Date): Promise<Page<PublicCertificate>> {
  const after = decode(q.cursor);
  const text = q.q?.trim();
  let rows: Row[];
  if (text && !CERTIFICATE_NUMBER.test(text)) rows = await search(db, text, q, after, now);
  else {
    let query = filtered(select(db, now), q, after, now);
    if (text) query = query.where('number', '=', normalizeCertificateNumber(text));
    rows = (await inOrder(query, q.limit + 1).execute()) as Row[];
  }
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit);
  return { items: items.map(view), next_cursor: more ? encode(items.at(-1)!) : null };
}

/**
 * One change of a certificate's public status. `reason` is only ever the regulator's own words;
 * a change with none (a restore without a reason, an expiry) is given a label in the reader's
 * language by the page (workflows/labels.ts, statusChangeLabels).
 */
export type PublicStatusChange = { event: string; status: CertificateStatus; at: string; reason: string | null };

// The regulator's reasons for suspending, restoring or revoking are public acts; surveillance
// findings are a lab's results, so a surveillance entry shows only the status it led to.
const PUBLIC_REASONS: readonly string[] = ['SUSPEND', 'RESTORE', 'REVOKE'];

/**
 * A certificate's status history, oldest first (issue, surveillance, suspension, …), or null when
 * no such certificate was issued. Read from the case's audit history: its events that change a
 * certificate's status (CERTIFICATE_STATUS_EVENTS, derived from the workflow), each with the
 * status of the state it led to (the state's declared certificateStatus: a surveillance pass stays
 * certified, so valid) and, for the regulator's acts, the reason given in its payload. The query
 * is the shape of the index audit_events (chain_id, type, seq): a case's status changes are read
 * without its other events, however many of them there are.
 */
export async function certificateStatusHistory(db: DbOrTrx, number: string): Promise<PublicStatusChange[] | null> {
  const cert = await withCertificates(db).selectFrom('certificates').select('case_id').where('number', '=', normalizeCertificateNumber(number)).executeTakeFirst();
  if (!cert) return null;
  const events = await db
    .selectFrom('audit_events')
    .select(['seq', 'type', 'to_state', 'at'])
    .select(sql<string | null>`payload->>'reason'`.as('reason'))
    .where('chain_id', '=', cert.case_id)
    .where('type', 'in', [...CERTIFICATE_STATUS_EVENTS])
    .orderBy('seq')
    .execute();
  return events.map((e) => ({
    event: e.type,
    status: statusOf(e.to_state),
    at: new Date(e.at).toISOString(),
    reason: PUBLIC_REASONS.includes(e.type) ? (e.reason ?? null) : null,
  }));
}

/** The status a certification state means (its meta certificateStatus); every status-changing event leads to one. */
function statusOf(state: string | null): CertificateStatus {
  const status = state === null ? undefined : certificationWorkflow.certificateStatus[state];
  if (!status) throw new Error(`a status-changing certification event led to state ${state}, which holds no certificate`);
  return status;
}
