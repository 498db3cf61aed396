import type { DbOrTrx } from '../db/types.js';
import { afterKeyset, decodeKeyset, toPage } from '../paging.js';

export const PUBLIC_SANDBOX_STATES = ['admitted', 'testing', 'suspended', 'exit_review', 'exited'] as const;

export type SandboxRegisterEntry = {
  number: string;
  organization: { name: string };
  product: { name: string | null };
  state: string;
  testing_period: { start: string; end: string } | null;
  /** When testing actually ended (SPEC §4b); absent while it goes on. */
  ended_at?: string;
};

/** The public states a case reaches only once its testing is over: by REQUEST_EXIT or PERIOD_ENDED, from testing or suspended. */
const TESTING_OVER: readonly string[] = ['exit_review', 'exited'];

/** Sandbox cases the public may see, with only the columns the register shows. */
function publicSandboxCases(db: DbOrTrx) {
  return db
    .selectFrom('cases as c')
    .innerJoin('organizations as o', 'o.id', 'c.organization_id')
    .leftJoin('products as p', 'p.id', 'c.product_id')
    .select((eb) => [
      'c.id',
      'c.number',
      'c.state',
      'c.created_at',
      'o.name as organization_name',
      'p.name as product_name',
      eb.ref('c.record', '->').key('testing_period').as('testing_period'),
      eb.ref('c.record', '->').key('exit_requested_at').as('exit_requested_at'),
    ])
    .where('c.kind', '=', 'sandbox-cases');
}

/** A case as the register query reads it: its type is the query's own (publicSandboxCases), not a copy. */
type Row = Awaited<ReturnType<ReturnType<typeof publicSandboxCases>['execute']>>[number];

/**
 * When testing ended, from what the machine records: at REQUEST_EXIT (exit_requested_at), else at
 * the end of the testing period, where PERIOD_ENDED ends it. The earlier of the two: the scheduler
 * fires PERIOD_ENDED some time after the period's end, and an exit asked for in between comes
 * after testing had ended too. Read from the record as stored, so nothing the audit replays changes.
 */
function endedAt(r: Row, period: { start: string; end: string } | null): string | undefined {
  if (!TESTING_OVER.includes(r.state) || !period) return undefined;
  const ends = [period.end, r.exit_requested_at].filter((x): x is string => typeof x === 'string').map((x) => new Date(x).getTime());
  return new Date(Math.min(...ends)).toISOString();
}

const sandboxView = (r: Row): SandboxRegisterEntry => {
  const period = (r.testing_period as { start: string; end: string } | null) ?? null;
  const ended = endedAt(r, period);
  return {
    number: r.number,
    organization: { name: r.organization_name },
    product: { name: r.product_name },
    state: r.state,
    testing_period: period,
    ...(ended ? { ended_at: ended } : {}),
  };
};

/** The public sandbox register (SPEC §4b): only numbers, names, state, the testing period and when testing ended. */
export async function sandboxRegister(db: DbOrTrx, q: { q?: string; state?: string; limit: number; cursor?: string }) {
  const after = decodeKeyset(q.cursor);
  let query = publicSandboxCases(db).where('c.state', 'in', q.state ? [q.state] : [...PUBLIC_SANDBOX_STATES]);
  if (q.q) {
    const like = `%${q.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    query = query.where((eb) => eb.or([eb('c.number', 'ilike', like), eb('o.name', 'ilike', like), eb('p.name', 'ilike', like)]));
  }
  if (after) query = query.where((eb) => afterKeyset(eb, after, 'c'));
  const rows = await query.orderBy('c.created_at').orderBy('c.id').limit(q.limit + 1).execute();
  return toPage(rows, q.limit, sandboxView);
}

/** One participant by its number (case-insensitive), or null when no case of that number is in the register. */
export async function findSandboxParticipant(db: DbOrTrx, number: string): Promise<SandboxRegisterEntry | null> {
  const row = await publicSandboxCases(db)
    .where('c.number', '=', number.trim().toUpperCase())
    .where('c.state', 'in', [...PUBLIC_SANDBOX_STATES])
    .executeTakeFirst();
  return row ? sandboxView(row) : null;
}
