// Shared by the security and stress tests: the routes the app really serves, a fingerprint of
// everything stored, a cast holding one representative record of each kind, problem checks.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from '../../src/db/kysely.js';
import type { Db } from '../../src/db/types.js';
import { uniq, type TestApp } from '../helpers/app.js';
import { certificationCast, sha256 } from '../certification/cast.js';
import { sandboxApplication } from '../sandbox/helpers.js';
import { application as genaiApplication } from '../genai/helpers.js';

export type RouteRef = { method: string; path: string };
export const routeKey = (r: RouteRef) => `${r.method} ${r.path}`;

/**
 * Every route the app serves, read from Fastify's own route tree (`printRoutes`), so a route added
 * tomorrow is in the list without anyone touching the tests. HEAD routes are the GET routes' twins.
 */
export function registeredRoutes(app: FastifyInstance): RouteRef[] {
  const out: RouteRef[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('');
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      out.push({ method, path });
  }
  return out;
}

// The instances' principal-cache leases, renewed every second whatever the requests: the service's
// own liveness bookkeeping, not something a request stores.
const HEARTBEAT_TABLES = ['principal_cache_instances'];

/** Tables of the schema that hold what requests store, in a stable order. */
export async function tables(db: Db): Promise<string[]> {
  const r = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db);
  return r.rows.map((x) => x.name).filter((n) => !HEARTBEAT_TABLES.includes(n));
}

/**
 * Row count and a digest of the content of every table: equal fingerprints mean nothing was
 * inserted, updated or deleted anywhere (a stronger check than counting one table).
 */
export async function fingerprint(db: Db, names?: string[]): Promise<Record<string, string>> {
  const list = names ?? (await tables(db));
  const parts = list.map(
    // hashtext of each row's text, summed: order-free, so no sort, and any changed column changes it.
    (n) =>
      sql`select ${n}::text as t, count(*)::text || ':' || coalesce(sum(hashtext(x::text)::bigint), 0)::text as f from ${sql.table(n)} as x`,
  );
  const r = await sql<{ t: string; f: string }>`${sql.join(parts, sql` union all `)}`.execute(db);
  return Object.fromEntries(r.rows.map((x) => [x.t, x.f]));
}

export const diffFingerprints = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys({ ...a, ...b }).filter((k) => a[k] !== b[k]);

type Res = Awaited<ReturnType<TestApp['req']>>;

/** The RFC 9457 shape, checked without tap: a reason string when it is wrong, else null. */
export function problemShapeError(res: { statusCode: number; headers: Record<string, unknown>; body: string }): string | null {
  if (res.statusCode < 400) return null;
  if (!/^application\/problem\+json/.test(String(res.headers['content-type'])))
    return `content-type ${String(res.headers['content-type'])}`;
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
  if (p.status !== res.statusCode) return `problem.status ${String(p.status)} ≠ ${res.statusCode}`;
  for (const k of ['type', 'title', 'detail', 'code'])
    if (typeof p[k] !== 'string' || (p[k] as string).length === 0) return `problem.${k} missing`;
  if (/\bat \S+ \(?\S+:\d+:\d+\)?/.test(res.body)) return 'a stack trace';
  return null;
}

export const SECRET = 'SECRET';
/** A marker put into private fields: it must never come out of the public register. */
export const secret = (what: string) => `${SECRET}-${what}-${uniq()}`;

export const COLUMNS = ['public', 'admin', 'regulator', 'lab_assigned', 'lab_other', 'applicant_owner', 'applicant_other'] as const;
export type Who = (typeof COLUMNS)[number];

/**
 * A cast with every kind of caller and one representative record of each kind: a draft and a
 * live case per workflow (the live certification and GenAI cases are assigned to lab A, lab B is
 * accredited but assigned nothing), products, and private markers in every private field.
 */
export async function buildWorld(ta: TestApp) {
  const c = await certificationCast(ta);
  const ok = c.ok;
  const labA = await c.lab();
  const labB = await c.lab();
  const throwaway = await c.principal('regulator');
  const robot = await c.robot(c.applicant.token, { description: secret('product-description') });
  const otherRobot = await c.robot(c.otherApplicant.token, { description: secret('other-product-description') });
  const now = ta.clock.now().getTime();
  const iso = (days: number) => new Date(now + days * 86_400_000).toISOString();

  const sandboxApp = () =>
    sandboxApplication(robot.id, {
      contact: { name: secret('sandbox-contact'), email: 'contact@example.cn' },
      safeguards: [secret('sandbox-safeguard')],
    });
  const fire = async (kind: string, token: string, id: string, type: string, payload?: unknown) =>
    ok(
      await ta.req({
        method: 'POST',
        url: `/v1/${kind}/${id}/events`,
        token,
        payload: (payload === undefined ? { type } : { type, payload }) as never,
      }),
    );
  const create = async (kind: string, token: string, body: unknown) =>
    ok(await ta.req({ method: 'POST', url: `/v1/${kind}`, token, payload: body as never }), 201);

  const sandboxDraft = await create('sandbox-cases', c.applicant.token, sandboxApp());
  const sandboxLive = await create('sandbox-cases', c.applicant.token, sandboxApp());
  await fire('sandbox-cases', c.applicant.token, sandboxLive.id, 'SUBMIT');
  await fire('sandbox-cases', c.regulator.token, sandboxLive.id, 'START_REVIEW');
  await fire('sandbox-cases', c.regulator.token, sandboxLive.id, 'ADMIT', {
    conditions: [secret('sandbox-condition')],
    testing_period: { start: iso(-1), end: iso(180) },
  });
  await fire('sandbox-cases', c.applicant.token, sandboxLive.id, 'START_TESTING');
  await fire('sandbox-cases', c.applicant.token, sandboxLive.id, 'SUBMIT_REPORT', {
    period_start: iso(-1),
    period_end: iso(0),
    summary: secret('sandbox-report'),
  });
  const sandboxUnderReview = await create('sandbox-cases', c.applicant.token, sandboxApp());
  await fire('sandbox-cases', c.applicant.token, sandboxUnderReview.id, 'SUBMIT');
  await fire('sandbox-cases', c.regulator.token, sandboxUnderReview.id, 'START_REVIEW');
  const otherSandbox = await create('sandbox-cases', c.otherApplicant.token, sandboxApplication(otherRobot.id));

  const certificationApp = () => ({
    product_id: robot.id,
    scheme: 'robot-safety',
    standards: ['ISO 10218-1:2025'],
    declared_scope: secret('declared-scope'),
  });
  const certificationDraft = await create('certification-cases', c.applicant.token, certificationApp());
  const certificationLive = await create('certification-cases', c.applicant.token, certificationApp());
  await fire('certification-cases', c.applicant.token, certificationLive.id, 'SUBMIT');
  await fire('certification-cases', c.regulator.token, certificationLive.id, 'ASSIGN_LAB', { lab_id: labA.org.id });
  await fire('certification-cases', labA.token, certificationLive.id, 'ACCEPT_ASSIGNMENT');
  const results = await c.results('robot-safety');
  results.summary = secret('results-summary');
  await fire('certification-cases', labA.token, certificationLive.id, 'POST_RESULTS', results);
  const certified = (
    await fire('certification-cases', c.regulator.token, certificationLive.id, 'CERTIFY', { scope: 'Cobot arm, firmware 2.x' })
  ).case;
  const certificateNumber = certified.record.certificate.number as string;

  const genaiApp = () =>
    genaiApplication(ta.clock.now(), {
      data_handling: secret('genai-data-handling'),
      model_under_study: { name: 'Pearl-7B', provider: secret('genai-provider') },
    });
  const genaiDraft = await create('genai-projects', c.applicant.token, genaiApp());
  const genaiLive = await create('genai-projects', c.applicant.token, genaiApp());
  await fire('genai-projects', c.applicant.token, genaiLive.id, 'SUBMIT');
  await fire('genai-projects', c.regulator.token, genaiLive.id, 'START_REVIEW');
  await fire('genai-projects', c.regulator.token, genaiLive.id, 'APPROVE', { evaluating_lab_id: labA.org.id });
  const genaiSubmitted = await create('genai-projects', c.applicant.token, genaiApp());
  await fire('genai-projects', c.applicant.token, genaiSubmitted.id, 'SUBMIT');

  const tokens: Record<Who, string | null> = {
    public: null,
    admin: ta.adminToken,
    regulator: c.regulator.token,
    lab_assigned: labA.token,
    lab_other: labB.token,
    applicant_owner: c.applicant.token,
    applicant_other: c.otherApplicant.token,
  };
  return {
    c,
    tokens,
    labA,
    labB,
    throwaway,
    robot,
    otherRobot,
    iso,
    sandboxApp,
    certificationApp,
    genaiApp,
    results,
    certificateNumber,
    cases: {
      'sandbox-cases': { draft: sandboxDraft.id as string, live: sandboxLive.id as string },
      'certification-cases': { draft: certificationDraft.id as string, live: certificationLive.id as string },
      'genai-projects': { draft: genaiDraft.id as string, live: genaiLive.id as string },
    } as Record<string, { draft: string; live: string }>,
    /** Cases the public register must never show (drafts, under review, submitted, another's draft). */
    /** More cases in other states, for tests that need variety. */
    more: {
      'sandbox-cases': [sandboxUnderReview.id, otherSandbox.id],
      'genai-projects': [genaiSubmitted.id],
      'certification-cases': [],
    } as Record<string, string[]>,
    notPublic: [sandboxDraft, sandboxUnderReview, otherSandbox, certificationDraft, genaiDraft, genaiSubmitted].map(
      (x) => x.number as string,
    ),
    randomId: () => randomUUID(),
    sha256,
  };
}
export type World = Awaited<ReturnType<typeof buildWorld>>;

export type { Res };
