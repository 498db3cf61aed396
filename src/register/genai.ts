import { sql } from '../db/kysely.js';
import type { DbOrTrx } from '../db/types.js';
import { afterKeyset, decodeKeyset, toPage } from '../paging.js';

export const PUBLIC_GENAI_STATES = ['active', 'completed'] as const;

export type GenaiRegisterQuery = { q?: string; state?: (typeof PUBLIC_GENAI_STATES)[number]; limit: number; cursor?: string };

export type GenaiRegisterEntry = {
  number: string;
  title: string;
  lead_organization: { name: string };
  partners: Array<{ name: string; region: string }>;
  research_areas: string[];
  state: string;
  approved_at: string | null;
  completed_at: string | null;
};

/** A project as the register query reads it: its type is the query's own (publicProjects), not a copy. */
type Row = Awaited<ReturnType<ReturnType<typeof publicProjects>['execute']>>[number];

/** One register entry, built field by field: nothing of the application beyond what the public may see. */
export const genaiRegisterEntry = (r: Row): GenaiRegisterEntry => ({
  number: r.number,
  title: r.title,
  lead_organization: { name: r.organization_name },
  partners: (r.partners ?? []).map((p) => ({ name: p.name, region: p.region })),
  research_areas: r.research_areas,
  state: r.state,
  approved_at: r.approved_at,
  completed_at: r.completed_at,
});

/** GenAI projects with only the columns the register shows; the caller narrows the states. */
function publicProjects(db: DbOrTrx) {
  return db
    .selectFrom('cases as c')
    .innerJoin('organizations as o', 'o.id', 'c.organization_id')
    .select([
      'c.id',
      'c.number',
      'c.state',
      'c.created_at',
      'o.name as organization_name',
      sql<string>`c.application->>'title'`.as('title'),
      sql<Array<{ name: string; region: string }> | null>`c.application->'partners'`.as('partners'),
      sql<string[]>`c.application->'research_areas'`.as('research_areas'),
      sql<string | null>`c.record->'approval'->>'approved_at'`.as('approved_at'),
      sql<string | null>`c.record->'completion'->>'completed_at'`.as('completed_at'),
    ])
    .where('c.kind', '=', 'genai-projects');
}

/**
 * The public register of GenAI joint-laboratory projects (SPEC §4b): active and completed projects,
 * oldest first in keyset pages; `q` matches the number, title, lead organization or a partner's name.
 */
export async function genaiRegister(db: DbOrTrx, q: GenaiRegisterQuery) {
  const after = decodeKeyset(q.cursor);
  let query = publicProjects(db).where('c.state', 'in', q.state ? [q.state] : [...PUBLIC_GENAI_STATES]);
  if (q.q) {
    const like = `%${q.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    query = query.where((eb) =>
      eb.or([
        eb('c.number', 'ilike', like),
        eb('o.name', 'ilike', like),
        eb(sql<string>`c.application->>'title'`, 'ilike', like),
        sql<boolean>`exists (select 1 from jsonb_array_elements(coalesce(c.application->'partners', '[]'::jsonb)) as p where p->>'name' ilike ${like})`,
      ]),
    );
  }
  if (after) query = query.where((eb) => afterKeyset(eb, after, 'c'));
  const rows = await query.orderBy('c.created_at').orderBy('c.id').limit(q.limit + 1).execute();
  return toPage(rows, q.limit, genaiRegisterEntry);
}

export type GenaiProjectPage = GenaiRegisterEntry & { evaluating_lab: { name: string } | null };

/** One project of the public register by its number, with the lab that evaluates it (SPEC §4b names the lab public), or null. */
export async function findGenaiProject(db: DbOrTrx, number: string): Promise<GenaiProjectPage | null> {
  const row = await publicProjects(db)
    .select(sql<string | null>`c.record->'approval'->'evaluating_lab'->>'name'`.as('lab_name'))
    .where('c.number', '=', number.trim().toUpperCase())
    .where('c.state', 'in', [...PUBLIC_GENAI_STATES])
    .executeTakeFirst();
  if (!row) return null;
  const { lab_name, ...r } = row;
  return { ...genaiRegisterEntry(r), evaluating_lab: lab_name ? { name: lab_name } : null };
}
