// What verification vouches for beyond the chains and each case's replayed state and context
// (SPEC §4): the projections the service decides from (deadline rows, the certificate register,
// principals, organizations and accreditations, products) each equal what their audit events say,
// and no case row or chain is left without the other. Each mismatch is one failure that names it.
import type { Selectable } from 'kysely';
import { sql } from '../db/kysely.js';
import type { AuditEvents, Cases, Db, DbOrTrx, Organizations, Principals, Products } from '../db/types.js';
import { deadlineEvent, type CaseContext, type Workflow } from '../../workflows/kit.js';
import { SYSTEM_CALLER, actorOf } from '../engine/caller.js';
import { resolveSnapshot, step } from '../engine/machine.js';
import { certificateRowOf, deadlineRows, type PreparedEvent } from '../engine/transition.js';
import { REGISTRY_CHAIN } from './audit.js';
import { readChain } from './chains.js';
import { sameJson } from './same-json.js';

/** What a failure may name that is not a case (the response schema's enum too). */
export const SUBJECT_KINDS = ['principal', 'organization', 'product', 'certificate'] as const;
export type Subject = { kind: (typeof SUBJECT_KINDS)[number]; id: string };
/**
 * One mismatch (SPEC §4): the case it concerns (null when none), the event at fault (0 when no one
 * event is), the subject when it is not a case, and why.
 */
export type VerifyFailure = { case_id: string | null; subject?: Subject; seq: number; reason: string };

type CaseRow = Selectable<Cases>;
type EventRow = Selectable<AuditEvents>;

// ---- a case's deadline rows and certificate register row ------------------------------------

export type DeadlineRead = { case_id: string; name: string; event_type: string; due_at: Date };
/** A register row with the registry's names as they are now (the rename triggers keep the copies equal to them). */
export type CertificateRead = {
  case_id: string;
  number: string;
  state: string;
  status: string;
  scheme: string;
  holder_id: string;
  holder_name: string;
  holder_name_en: string | null;
  product_id: string | null;
  product_name: string;
  product_version: string;
  lab_id: string | null;
  lab_name: string | null;
  issued_at: Date;
  valid_until: Date;
  registry: { holder_name: string | null; holder_name_en: string | null; product_name: string | null; product_version: string | null; lab_name: string | null };
};
export type CaseProjections = { deadlines: Map<string, DeadlineRead[]>; certificates: Map<string, CertificateRead> };

/** The deadline and register rows of these cases: one query each, in the caller's snapshot. */
export async function readCaseProjections(trx: DbOrTrx, ids: string[]): Promise<CaseProjections> {
  const deadlines = new Map<string, DeadlineRead[]>();
  const certificates = new Map<string, CertificateRead>();
  const ds = await trx
    .selectFrom('deadlines')
    .select(['case_id', 'name', 'event_type', 'due_at'])
    .where(sql<boolean>`case_id = any(${ids}::uuid[])`)
    .execute();
  for (const d of ds) {
    const list = deadlines.get(d.case_id);
    if (list) list.push(d);
    else deadlines.set(d.case_id, [d]);
  }
  const cs = await trx
    .selectFrom('certificates as r')
    .leftJoin('organizations as o', 'o.id', 'r.holder_id')
    .leftJoin('products as p', 'p.id', 'r.product_id')
    .leftJoin('organizations as l', 'l.id', 'r.lab_id')
    .select(['r.case_id', 'r.number', 'r.state', 'r.status', 'r.scheme', 'r.holder_id', 'r.holder_name', 'r.holder_name_en', 'r.product_id', 'r.product_name', 'r.product_version', 'r.lab_id', 'r.lab_name', 'r.issued_at', 'r.valid_until'])
    .select(['o.name as o_name', 'o.name_en as o_name_en', 'p.name as p_name', 'p.version as p_version', 'l.name as l_name'])
    .where(sql<boolean>`r.case_id = any(${ids}::uuid[])`)
    .execute();
  for (const { o_name, o_name_en, p_name, p_version, l_name, ...r } of cs) {
    certificates.set(r.case_id, { ...r, registry: { holder_name: o_name, holder_name_en: o_name_en, product_name: p_name, product_version: p_version, lab_name: l_name } });
  }
  return { deadlines, certificates };
}

const ms = (d: Date | string) => new Date(d).getTime();
const iso = (d: Date | string) => new Date(d).toISOString();

/**
 * A replayed case's deadline rows and register row against the stored ones. `projected` is what the
 * engine derives from the replayed state and context (projectionsOf); `now` is the verifier's clock.
 */
export function caseProjectionFailures(
  wf: Workflow,
  c: CaseRow,
  chain: EventRow[],
  replayed: { state: string; context: CaseContext },
  projected: Pick<PreparedEvent, 'productId' | 'labId' | 'deadlines' | 'certificate'>,
  stored: { deadlines: DeadlineRead[]; certificate: CertificateRead | undefined },
  now: number,
): VerifyFailure[] {
  const out: VerifyFailure[] = [];
  const last = chain.at(-1)!;
  const deadlines = deadlineRowFailures(wf, chain, replayed, deadlineRows(c.id, projected.deadlines), stored.deadlines, now);
  if (deadlines.length) out.push({ case_id: c.id, seq: last.seq, reason: `deadline rows differ from the replay: ${deadlines.join('; ')}` });
  const cert = certificateFailure(certificateRowOf(c, replayed.state, projected), stored.certificate);
  if (cert) out.push({ case_id: c.id, seq: last.seq, ...cert });
  return out;
}

/**
 * The scheduler fires from the deadline rows, so a row added, changed or deleted changes what the
 * service does. A row the replay declares may be missing only for the reasons the engine removes
 * one without a change of deadlines: an event of the chain acted on it (fired, and declared again
 * by the state it led to), or its event would be refused (the scheduler drops such a deadline).
 */
function deadlineRowFailures(
  wf: Workflow,
  chain: EventRow[],
  replayed: { state: string; context: CaseContext },
  expected: ReturnType<typeof deadlineRows>,
  stored: DeadlineRead[],
  now: number,
): string[] {
  const problems: string[] = [];
  const byName = new Map(stored.map((d) => [d.name, d]));
  for (const d of stored) {
    if (!expected.some((e) => e.name === d.name)) problems.push(`row ${d.name} (${d.event_type} at ${iso(d.due_at)}) is not a deadline of the case`);
  }
  for (const e of expected) {
    const d = byName.get(e.name);
    if (d) {
      if (d.event_type !== e.event_type || ms(d.due_at) !== ms(e.due_at)) problems.push(`row ${e.name} says ${d.event_type} at ${iso(d.due_at)}, the replay ${e.event_type} at ${e.due_at}`);
      continue;
    }
    const fired = deadlineEvent(wf, e);
    if (chain.some((x) => x.type === fired.type && sameJson(x.payload, fired.payload))) continue;
    const at = new Date(Math.max(now, ms(e.due_at))).toISOString();
    const event = { ...fired, actor: actorOf(SYSTEM_CALLER), at, seq: chain.at(-1)!.seq + 1, facts: null };
    if (refused(wf, replayed, event)) continue;
    problems.push(`row ${e.name} (${e.event_type} at ${e.due_at}) is missing: the scheduler would never fire it`);
  }
  return problems;
}

/** Whether the replayed case would refuse the event (a guard that throws, as the scheduler's retries would, counts as not refused). */
function refused(wf: Workflow, replayed: { state: string; context: CaseContext }, event: Parameters<typeof step>[2]): boolean {
  try {
    return 'violation' in step(wf, resolveSnapshot(wf, replayed.state, replayed.context), event);
  } catch {
    return false;
  }
}

type ExpectedCertificate = ReturnType<typeof certificateRowOf>;

function certificateFailure(expected: ExpectedCertificate, stored: CertificateRead | undefined): Omit<VerifyFailure, 'case_id' | 'seq'> | null {
  if (!expected && !stored) return null;
  if (!expected) return { subject: { kind: 'certificate', id: stored!.number }, reason: `register row ${stored!.number} has no certificate behind it: the case's events issue none` };
  const subject = { kind: 'certificate' as const, id: expected.number };
  if (!stored) return { subject, reason: `the case's events issue certificate ${expected.number} (${expected.status}), and the register has no row for it` };
  const diffs: string[] = [];
  const same = (field: string, has: unknown, should: unknown) => {
    if (has !== should) diffs.push(`${field} is ${String(has)}, ${should === null ? 'should be null' : `should be ${String(should)}`}`);
  };
  for (const k of ['number', 'state', 'status', 'scheme', 'holder_id', 'product_id', 'lab_id'] as const) same(k, stored[k], expected[k]);
  for (const k of ['issued_at', 'valid_until'] as const) if (ms(stored[k]) !== ms(expected[k])) same(k, iso(stored[k]), iso(expected[k]));
  // The names are the registry's (checked against its chain on their own), copied in.
  const names = stored.registry;
  same('holder_name', stored.holder_name, names.holder_name);
  same('holder_name_en', stored.holder_name_en, names.holder_name_en);
  same('product_name', stored.product_name, names.product_name);
  same('product_version', stored.product_version, names.product_version);
  same('lab_name', stored.lab_name, names.lab_name);
  if (!diffs.length) return null;
  return { subject, reason: `register row differs from what the case's events say: ${diffs.join('; ')}` };
}

// ---- the registry chain's projections --------------------------------------------------------

export type RegistrySnapshot = {
  chain: EventRow[];
  principals: Array<Pick<Selectable<Principals>, 'id' | 'role' | 'organization_id' | 'name' | 'revoked_at'>>;
  organizations: Array<Selectable<Organizations>>;
  products: Array<Selectable<Products>>;
};

/** The registry chain and the tables it projects to, in one repeatable-read snapshot (each change writes both in one transaction). */
export async function readRegistry(db: Db): Promise<RegistrySnapshot> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => ({
      chain: await readChain(trx, REGISTRY_CHAIN),
      principals: await trx.selectFrom('principals').select(['id', 'role', 'organization_id', 'name', 'revoked_at']).orderBy('id').execute(),
      organizations: await trx.selectFrom('organizations').selectAll().orderBy('id').execute(),
      products: await trx.selectFrom('products').selectAll().orderBy('id').execute(),
    }));
}

type Tracked<T> = { value: T; created: number; seq: number };

/** Each row as the registry chain's events build it (src/registry/*: each write appends its event). */
function foldRegistry(chain: EventRow[], failures: VerifyFailure[]) {
  const principals = new Map<string, Tracked<{ role: string; organization_id: string | null; name: string | null; revoked: boolean }>>();
  const organizations = new Map<string, Tracked<Record<string, unknown> & { accreditation: unknown; created_at: number; updated_at: number }>>();
  const products = new Map<string, Tracked<Record<string, unknown> & { body: unknown; created_at: number; updated_at: number }>>();
  const unknown = (kind: Subject['kind'], id: string, e: EventRow) => failures.push({ case_id: null, subject: { kind, id }, seq: e.seq, reason: `${e.type} of a ${kind} the registry chain never created` });
  for (const e of chain) {
    const p = e.payload as Record<string, any>;
    const at = ms(e.at);
    switch (e.type) {
      case 'PRINCIPAL_CREATED':
        principals.set(p.principal_id, { value: { role: p.role, organization_id: p.organization_id ?? null, name: p.name ?? null, revoked: false }, created: e.seq, seq: e.seq });
        break;
      case 'PRINCIPAL_REVOKED':
      case 'PRINCIPAL_BOOTSTRAPPED': {
        const x = principals.get(p.principal_id);
        if (!x) {
          unknown('principal', p.principal_id, e);
          break;
        }
        x.value = e.type === 'PRINCIPAL_REVOKED' ? { ...x.value, revoked: true } : { ...x.value, role: 'admin', organization_id: null, revoked: false };
        x.seq = e.seq;
        break;
      }
      case 'ORGANIZATION_CREATED': {
        const { organization_id, ...input } = p;
        const value = { name: input.name, name_en: input.name_en ?? null, kind: input.kind, region: input.region, credit_code: input.credit_code ?? null, registration_number: input.registration_number ?? null, contact_email: input.contact_email, accreditation: null, created_at: at, updated_at: at };
        organizations.set(organization_id, { value, created: e.seq, seq: e.seq });
        break;
      }
      case 'ACCREDITATION_SET': {
        const { organization_id, ...accreditation } = p;
        const x = organizations.get(organization_id);
        if (!x) {
          unknown('organization', organization_id, e);
          break;
        }
        x.value = { ...x.value, accreditation, updated_at: at };
        x.seq = e.seq;
        break;
      }
      case 'PRODUCT_CREATED': {
        const { product_id, organization_id, ...input } = p;
        const value = { organization_id, name: input.name, version: input.version, kind: input.kind, risk_level: input.risk_level, body: input, created_at: at, updated_at: at };
        products.set(product_id, { value, created: e.seq, seq: e.seq });
        break;
      }
    }
  }
  return { principals, organizations, products };
}

/**
 * Every principal, organization and product row against the registry chain, and every one the chain
 * created against the rows. From a break in the chain (`brokenAt`, its seq, reported as such) on, its
 * events vouch for nothing: rows are compared with the events before it, and those the events from
 * it on name are not compared at all.
 */
export function registryFailures(r: RegistrySnapshot, brokenAt: number | null = null): VerifyFailure[] {
  const failures: VerifyFailure[] = [];
  const sound = brokenAt === null ? r.chain : r.chain.filter((e) => e.seq < brokenAt);
  const unvouched = new Set<string>();
  for (const e of r.chain.slice(sound.length)) {
    const p = e.payload as Record<string, unknown>;
    for (const k of ['principal_id', 'organization_id', 'product_id']) if (typeof p[k] === 'string') unvouched.add(p[k] as string);
  }
  const expected = foldRegistry(sound, failures);
  const compare = <T extends Record<string, unknown>>(kind: Subject['kind'], created: string, rows: Array<{ id: string } & Record<string, unknown>>, want: Map<string, Tracked<T>>, stored: (row: any) => Record<string, unknown>) => {
    const seen = new Set<string>(unvouched);
    for (const row of rows) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      const x = want.get(row.id);
      if (!x) {
        failures.push({ case_id: null, subject: { kind, id: row.id }, seq: 0, reason: `a ${kind} row with no ${created} event in the registry chain` });
        continue;
      }
      const has = stored(row);
      const diffs = Object.keys(x.value)
        .filter((k) => !sameJson(has[k] ?? null, x.value[k] ?? null))
        .map((k) => `${k} is ${JSON.stringify(has[k] ?? null)}, the registry chain says ${JSON.stringify(x.value[k] ?? null)}`);
      if (diffs.length) failures.push({ case_id: null, subject: { kind, id: row.id }, seq: x.seq, reason: `stored ${kind} differs from its registry events: ${diffs.join('; ')}` });
    }
    for (const [id, x] of want) {
      if (!seen.has(id)) failures.push({ case_id: null, subject: { kind, id }, seq: x.created, reason: `the registry chain created this ${kind}, and its row is gone` });
    }
  };
  compare('principal', 'PRINCIPAL_CREATED', r.principals, expected.principals, (p) => ({ role: p.role, organization_id: p.organization_id, name: p.name, revoked: p.revoked_at !== null }));
  compare('organization', 'ORGANIZATION_CREATED', r.organizations, expected.organizations, (o) => ({ ...o, created_at: ms(o.created_at), updated_at: ms(o.updated_at) }));
  compare('product', 'PRODUCT_CREATED', r.products, expected.products, (p) => ({ ...p, created_at: ms(p.created_at), updated_at: ms(p.updated_at) }));
  return failures;
}

// ---- rows and chains without each other -------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Audit chains whose case row is gone, and register or deadline rows whose case is (the foreign
 * keys forbid it, unless they were switched off). A case row whose chain is gone is found with the
 * case. A case deleted with its whole chain leaves nothing here: the transparency log (SPEC §7) sees it.
 */
export async function orphanFailures(db: Db): Promise<VerifyFailure[]> {
  const { rows } = await sql<{ what: 'chain' | 'certificate' | 'deadline'; id: string; case_id: string | null; seq: number | null; n: number }>`
    select 'chain' as what, a.case_id::text as id, a.case_id::text as case_id, min(a.seq) as seq, count(*)::int as n
      from audit_events a
     where a.case_id is not null and not exists (select 1 from cases c where c.id = a.case_id)
     group by a.case_id
    union all
    select 'chain', a.chain_id, null, min(a.seq), count(*)::int
      from audit_events a
     where a.case_id is null and a.chain_id <> ${REGISTRY_CHAIN}
     group by a.chain_id
    union all
    select 'certificate', r.number, r.case_id::text, null, 1
      from certificates r
     where not exists (select 1 from cases c where c.id = r.case_id)
    union all
    select 'deadline', d.name, d.case_id::text, null, 1
      from deadlines d
     where not exists (select 1 from cases c where c.id = d.case_id)
     order by 1, 2`.execute(db);
  return rows.map((r): VerifyFailure => {
    if (r.what === 'certificate') return { case_id: r.case_id, subject: { kind: 'certificate', id: r.id }, seq: 0, reason: `register row ${r.id} names case ${r.case_id}, which does not exist` };
    if (r.what === 'deadline') return { case_id: r.case_id, seq: 0, reason: `deadline row ${r.id} of case ${r.case_id}, which does not exist` };
    // A chain's id is its case's; one that is not a case id is no chain the service writes.
    return r.case_id && UUID.test(r.case_id)
      ? { case_id: r.case_id, seq: r.seq ?? 0, reason: `${r.n} audit event(s) of this case remain, and its case row is gone` }
      : { case_id: null, seq: r.seq ?? 0, reason: `chain ${JSON.stringify(r.id)}: ${r.n} audit event(s) of no case and not of the registry` };
  });
}
