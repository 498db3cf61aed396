import type { Selectable } from 'kysely';
import type { Db, DbOrTrx, Organizations } from '../db/types.js';
import { AppError, notFound, ruleViolation, validationFailed } from '../errors.js';
import { l } from '../../workflows/kit.js';
import type { Actor } from '../audit/audit.js';
import { appendRegistryEvent } from '../audit/chains.js';
import { creditCodeProblem } from './credit-code.js';
import { afterKeyset, decodeKeyset, toPage } from '../paging.js';
import { storeAnswer, type KeyedRequest } from '../idempotency.js';
import type { Principal } from './principals.js';

export type OrganizationInput = {
  name: string;
  name_en?: string;
  kind: string;
  region: string;
  credit_code?: string;
  registration_number?: string;
  contact_email: string;
};

/** An organization as stored: the generated table type (migrations/ define the columns). */
type Row = Selectable<Organizations>;

export const organizationView = (r: Row) => ({
  id: r.id,
  name: r.name,
  name_en: r.name_en,
  kind: r.kind,
  region: r.region,
  credit_code: r.credit_code,
  registration_number: r.registration_number,
  contact_email: r.contact_email,
  accreditation: r.accreditation ?? null,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export async function createOrganization(db: Db, input: OrganizationInput, actor: Actor, keyed?: KeyedRequest<ReturnType<typeof organizationView>>) {
  if (input.credit_code !== undefined) {
    const problem = creditCodeProblem(input.credit_code);
    if (problem) throw validationFailed([{ path: 'body/credit_code', message: problem }]);
  }
  const duplicate = () =>
    new AppError('conflict', `an organization with credit code ${input.credit_code} is already registered`, { errors: [{ path: 'body/credit_code', message: 'is already registered' }] });
  try {
    return await db.transaction().execute(async (trx) => {
      if (input.credit_code) {
        const dup = await trx.selectFrom('organizations').select('id').where('credit_code', '=', input.credit_code).executeTakeFirst();
        if (dup) throw duplicate();
      }
      const now = new Date();
      const row = await trx
        .insertInto('organizations')
        .values({
          name: input.name,
          name_en: input.name_en ?? null,
          kind: input.kind,
          region: input.region,
          credit_code: input.credit_code ?? null,
          registration_number: input.registration_number ?? null,
          contact_email: input.contact_email,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await appendRegistryEvent(trx, { kind: 'organization', type: 'ORGANIZATION_CREATED', actor, payload: { organization_id: row.id, ...input }, at: now });
      const view = organizationView(row);
      await storeAnswer(trx, keyed, view);
      return view;
    });
  } catch (err) {
    // The check above cannot see a concurrent request's uncommitted row; the unique index can.
    if ((err as { code?: string }).code === '23505' && String((err as Error).message).includes('organizations_credit_code_key')) throw duplicate();
    throw err;
  }
}

/** Regulators and admins see every organization; others only their own. */
function visible(p: Principal, id: string) {
  return p.role === 'admin' || p.role === 'regulator' || p.organization_id === id;
}

export async function getOrganization(db: DbOrTrx, p: Principal, id: string) {
  const row = await db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !visible(p, id)) throw notFound('organization');
  return organizationView(row);
}

export async function listOrganizations(db: DbOrTrx, p: Principal, q: { kind?: string; region?: string; limit: number; cursor?: string }) {
  const after = decodeKeyset(q.cursor);
  let query = db.selectFrom('organizations').selectAll();
  if (!(p.role === 'admin' || p.role === 'regulator')) query = query.where('id', '=', p.organization_id ?? '00000000-0000-0000-0000-000000000000');
  if (q.kind) query = query.where('kind', '=', q.kind);
  if (q.region) query = query.where('region', '=', q.region);
  if (after) query = query.where((eb) => afterKeyset(eb, after));
  const rows = await query.orderBy('created_at').orderBy('id').limit(q.limit + 1).execute();
  return toPage(rows, q.limit, organizationView);
}

export async function setAccreditation(
  db: Db,
  id: string,
  input: { accreditation_number: string; schemes: string[]; valid_until: string },
  actor: Actor,
  /** The service's clock: CERTIFY reads accreditations back by the time they were set (SPEC §3.2). */
  now = new Date(),
) {
  return db.transaction().execute(async (trx) => {
    const org = await trx.selectFrom('organizations').select(['id', 'kind']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!org) throw notFound('organization');
    if (org.kind !== 'lab') throw ruleViolation('lab_only', l('only an organization of kind lab can be accredited', '只有检测实验室类的机构才能获得认可'));
    const known = await trx.selectFrom('schemes').select('code').where('code', 'in', input.schemes).execute();
    const unknown = input.schemes.filter((s) => !known.some((k) => k.code === s));
    // Schemes are data, not schema: the same refusal as an unknown scheme in a certification application.
    if (unknown.length) {
      throw new AppError(
        'rule_violation',
        `no certification scheme ${unknown.join(', ')}`,
        {
          rule: 'known_scheme',
          errors: unknown.map((s) => ({ path: `body/schemes/${input.schemes.indexOf(s)}`, message: 'is not a certification scheme (see GET /v1/schemes)' })),
        },
        l(`no certification scheme ${unknown.join(', ')}`, `没有认证方案 ${unknown.join('、')}`),
      );
    }
    const accreditation = { ...input, valid_until: new Date(input.valid_until).toISOString(), set_at: now.toISOString(), set_by: actor.principal_id ?? 'system' };
    const row = await trx
      .updateTable('organizations')
      .set({ accreditation: JSON.stringify(accreditation), updated_at: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendRegistryEvent(trx, { kind: 'organization', type: 'ACCREDITATION_SET', actor, payload: { organization_id: id, ...accreditation }, at: now });
    return organizationView(row);
  });
}
