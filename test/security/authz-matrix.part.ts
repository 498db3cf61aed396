import { buildTestApp, makeCreditCode } from '../helpers/app.js';
import {
  COLUMNS,
  buildWorld,
  diffFingerprints,
  fingerprint,
  problemShapeError,
  registeredRoutes,
  routeKey,
  SECRET,
  type Who,
  type World,
} from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // One table: every route the app serves × every kind of caller, on a representative record.
  // A cell is the expected status; `has` / `hides` is a 200 list that shows / does not show the
  // representative record. 404 is what the SPEC demands for another organization's records.
  type Cell = number | 'has' | 'hides';
  type Row = {
    route: string;
    variant?: string;
    url: (w: World) => string;
    body?: (w: World) => unknown;
    /** For a list: is the representative record among the items? */
    holds?: (w: World, items: any[]) => boolean;
    expect: [Cell, Cell, Cell, Cell, Cell, Cell, Cell];
  };
  //                                     public admin regulator labA   labB   owner  other
  const ALL_200: Row['expect'] = [200, 200, 200, 200, 200, 200, 200];
  const ALL_HAS: Row['expect'] = ['has', 'has', 'has', 'has', 'has', 'has', 'has'];
  const hasId = (id: (w: World) => string) => (w: World, items: any[]) => items.some((i) => i.id === id(w));
  const hasNumber = (n: (w: World) => string) => (w: World, items: any[]) => items.some((i) => i.number === n(w));

  const orgBody = () => ({
    name: `Matrix ${Math.random()}`,
    kind: 'enterprise',
    region: 'guangdong',
    credit_code: makeCreditCode(),
    contact_email: 'm@example.cn',
  });
  const productBody = () => ({
    name: 'Matrix product',
    version: '1',
    kind: 'ai_system',
    description: 'd',
    intended_use: 'u',
    domains: ['other'],
    risk_level: 'low',
  });

  const ROWS: Row[] = [
    { route: 'GET /health/live', url: () => '/health/live', expect: ALL_200 },
    { route: 'GET /health/ready', url: () => '/health/ready', expect: ALL_200 },
    { route: 'GET /documentation', url: () => '/documentation', expect: ALL_200 },
    { route: 'GET /documentation/', url: () => '/documentation/', expect: ALL_200 },
    {
      route: 'GET /documentation/static/index.html',
      url: () => '/documentation/static/index.html',
      expect: [302, 302, 302, 302, 302, 302, 302],
    },
    { route: 'GET /documentation/static/swagger-initializer.js', url: () => '/documentation/static/swagger-initializer.js', expect: ALL_200 },
    { route: 'GET /documentation/*', url: () => '/documentation/static/logo.svg', expect: ALL_200 },
    { route: 'GET /documentation/json', url: () => '/documentation/json', expect: ALL_200 },
    { route: 'GET /documentation/yaml', url: () => '/documentation/yaml', expect: ALL_200 },
    { route: 'GET /v1/workflows', url: () => '/v1/workflows', expect: ALL_200 },
    { route: 'GET /v1/workflows/:kind', url: () => '/v1/workflows/certification-cases', expect: ALL_200 },
    { route: 'GET /v1/schemes', url: () => '/v1/schemes', expect: ALL_200 },
    { route: 'GET /v1/schemes/:code', url: () => '/v1/schemes/robot-safety', expect: ALL_200 },
    {
      route: 'GET /v1/register/sandbox',
      url: () => '/v1/register/sandbox?limit=200',
      holds: hasNumber((w) => liveNumber(w, 'sandbox-cases')),
      expect: ALL_HAS,
    },
    {
      route: 'GET /v1/register/certificates',
      url: () => '/v1/register/certificates?limit=200',
      holds: hasNumber((w) => w.certificateNumber),
      expect: ALL_HAS,
    },
    { route: 'GET /v1/register/certificates/:number', url: (w) => `/v1/register/certificates/${w.certificateNumber}`, expect: ALL_200 },
    {
      route: 'GET /v1/register/genai-projects',
      url: () => '/v1/register/genai-projects?limit=200',
      holds: hasNumber((w) => liveNumber(w, 'genai-projects')),
      expect: ALL_HAS,
    },
    // The transparency log (SPEC §7): public, the same for everyone.
    { route: 'GET /v1/transparency/checkpoint', url: () => '/v1/transparency/checkpoint', expect: ALL_200 },
    { route: 'GET /v1/transparency/key', url: () => '/v1/transparency/key', expect: ALL_200 },
    { route: 'GET /v1/transparency/proofs/inclusion', url: () => '/v1/transparency/proofs/inclusion?leaf_index=0&tree_size=2', expect: ALL_200 },
    { route: 'GET /v1/transparency/proofs/consistency', url: () => '/v1/transparency/proofs/consistency?from=1&to=2', expect: ALL_200 },
    { route: 'GET /v1/transparency/leaves', url: () => '/v1/transparency/leaves?start=0&end=2', expect: ALL_200 },
    // Verifiable certificates (SPEC §8): public, the same for everyone.
    { route: 'GET /v1/register/certificates/:number/credential', url: (w) => `/v1/register/certificates/${w.certificateNumber}/credential`, expect: ALL_200 },
    { route: 'GET /v1/register/certificates/:number/pdf', url: (w) => `/v1/register/certificates/${w.certificateNumber}/pdf`, expect: ALL_200 },
    { route: 'GET /.well-known/jwks.json', url: () => '/.well-known/jwks.json', expect: ALL_200 },
    { route: 'GET /v1/status-lists/:purpose/:n', url: () => '/v1/status-lists/revocation/0', expect: ALL_200 },
    // The public register as HTML pages (src/pages/routes.ts).
    { route: 'GET /assets/register.css', url: () => '/assets/register.css', expect: ALL_200 },
    { route: 'GET /register', url: () => '/register', expect: ALL_200 },
    { route: 'GET /register/', url: () => '/register/', expect: ALL_200 },
    { route: 'GET /register/certificates/:number', url: (w) => `/register/certificates/${w.certificateNumber}`, expect: ALL_200 },
    { route: 'GET /register/verify', url: () => '/register/verify', expect: ALL_200 },
    // Verifying a credential changes nothing: the same verdict page (here "malformed") for every caller.
    { route: 'POST /register/verify', url: () => '/register/verify', body: () => ({ credential: 'not a credential' }), expect: ALL_200 },
    { route: 'GET /register/sandbox/:number', url: (w) => `/register/sandbox/${liveNumber(w, 'sandbox-cases')}`, expect: ALL_200 },
    {
      route: 'GET /register/genai-projects/:number',
      url: (w) => `/register/genai-projects/${liveNumber(w, 'genai-projects')}`,
      expect: ALL_200,
    },
    { route: 'GET /workflows', url: () => '/workflows', expect: ALL_200 },
    { route: 'GET /workflows/', url: () => '/workflows/', expect: ALL_200 },
    // The workbench (src/workbench): a bearer token is no credential there. Without a session every
    // page sends the browser to sign in (303), and every form post is refused for its missing CSRF token (403, a page).
    { route: 'GET /workbench/assets/workbench.css', url: () => '/workbench/assets/workbench.css', expect: ALL_200 },
    { route: 'GET /workbench/sign-in', url: () => '/workbench/sign-in', expect: ALL_200 },
    ...(
      [
        'GET /workbench',
        'GET /workbench/',
        'GET /workbench/start',
        'GET /workbench/cases/:kind/new',
        'GET /workbench/cases/:kind/:id',
        'GET /workbench/cases/:kind/:id/events/:type',
        'GET /workbench/cases/:kind/:id/edit',
        'GET /workbench/products/new',
        'GET /workbench/principals',
        'GET /workbench/principals/new',
        'GET /workbench/organizations',
        'GET /workbench/organizations/new',
        'GET /workbench/organizations/:id/accreditation',
        'GET /workbench/notifications',
        'GET /workbench/notifications/:id',
      ] as const
    ).map((route): Row => ({ route, url: () => workbenchUrl(route), expect: [303, 303, 303, 303, 303, 303, 303] })),
    ...(
      [
        'POST /workbench/sign-in',
        'POST /workbench/sign-out',
        'POST /workbench/cases/:kind/new',
        'POST /workbench/cases/:kind/:id/events/:type',
        'POST /workbench/cases/:kind/:id/edit',
        'POST /workbench/products/new',
        'POST /workbench/principals/new',
        'POST /workbench/principals/:id/revoke',
        'POST /workbench/organizations/new',
        'POST /workbench/organizations/:id/accreditation',
        'POST /workbench/notifications/:id/read',
        'POST /workbench/notifications/read-all',
      ] as const
    ).map((route): Row => ({ route, url: () => workbenchUrl(route), body: () => ({ token: 'x' }), expect: [403, 403, 403, 403, 403, 403, 403] })),
    { route: 'GET /v1/audit/verify', url: () => '/v1/audit/verify', expect: [401, 403, 200, 403, 403, 403, 403] },
    { route: 'GET /v1/me', url: () => '/v1/me', expect: [401, 200, 200, 200, 200, 200, 200] },

    { route: 'POST /v1/organizations', url: () => '/v1/organizations', body: orgBody, expect: [401, 201, 201, 403, 403, 403, 403] },
    {
      route: 'GET /v1/organizations/:id',
      url: (w) => `/v1/organizations/${w.c.applicantOrg.id}`,
      expect: [401, 200, 200, 404, 404, 200, 404],
    },
    {
      route: 'GET /v1/organizations',
      url: () => '/v1/organizations?limit=200',
      holds: hasId((w) => w.c.applicantOrg.id),
      expect: [401, 'has', 'has', 'hides', 'hides', 'has', 'hides'],
    },
    {
      route: 'PUT /v1/organizations/:id/accreditation',
      url: (w) => `/v1/organizations/${w.labB.org.id}/accreditation`,
      body: () => ({
        accreditation_number: 'CNAS L4242',
        schemes: ['robot-safety', 'genai-security'],
        valid_until: new Date(Date.now() + 400 * 86_400_000).toISOString(),
      }),
      expect: [401, 403, 200, 403, 403, 403, 403],
    },
    {
      route: 'POST /v1/principals',
      url: () => '/v1/principals',
      body: () => ({ role: 'regulator', name: 'matrix' }),
      expect: [401, 201, 403, 403, 403, 403, 403],
    },
    { route: 'DELETE /v1/principals/:id', url: (w) => `/v1/principals/${w.throwaway.id}`, expect: [401, 204, 403, 403, 403, 403, 403] },
    { route: 'POST /v1/products', url: () => '/v1/products', body: productBody, expect: [401, 403, 403, 403, 403, 201, 201] },
    { route: 'GET /v1/products/:id', url: (w) => `/v1/products/${w.robot.id}`, expect: [401, 403, 200, 200, 404, 200, 404] },
    {
      route: 'GET /v1/products',
      url: () => '/v1/products?limit=200',
      holds: hasId((w) => w.robot.id),
      expect: [401, 403, 'has', 'hides', 'hides', 'has', 'hides'],
    },

    // Webhooks (SPEC §9): applicants and labs manage their organization's endpoints, regulators the
    // regulators'; the representative endpoint is the owner organization's.
    { route: 'POST /v1/webhooks', url: () => '/v1/webhooks', body: () => ({ url: 'https://hooks.example.cn/matrix', events: ['*'] }), expect: [401, 403, 201, 201, 201, 201, 201] },
    { route: 'GET /v1/webhooks', url: () => '/v1/webhooks?limit=200', holds: hasId((w) => hooks(w).live), expect: [401, 403, 'hides', 'hides', 'hides', 'has', 'hides'] },
    { route: 'GET /v1/webhooks/:id', url: (w) => `/v1/webhooks/${hooks(w).live}`, expect: [401, 403, 404, 404, 404, 200, 404] },
    { route: 'PATCH /v1/webhooks/:id', url: (w) => `/v1/webhooks/${hooks(w).live}`, body: () => ({ description: 'matrix' }), expect: [401, 403, 404, 404, 404, 200, 404] },
    { route: 'DELETE /v1/webhooks/:id', url: (w) => `/v1/webhooks/${hooks(w).throwaway}`, expect: [401, 403, 404, 404, 404, 204, 404] },
    { route: 'GET /v1/webhooks/:id/deliveries', url: (w) => `/v1/webhooks/${hooks(w).live}/deliveries`, expect: [401, 403, 404, 404, 404, 200, 404] },
    { route: 'POST /v1/webhooks/:id/deliveries/:delivery_id/retry', url: (w) => `/v1/webhooks/${hooks(w).live}/deliveries/${hooks(w).delivery}/retry`, expect: [401, 403, 404, 404, 404, 202, 404] },
    // The owner's ping is attempted (and fails: tests resolve no host name) and answered.
    { route: 'POST /v1/webhooks/:id/ping', url: (w) => `/v1/webhooks/${hooks(w).live}/ping`, expect: [401, 403, 404, 404, 404, 200, 404] },

    ...caseRows('sandbox-cases', {
      create: [401, 403, 403, 403, 403, 201, 422],
      read: [401, 403, 200, 404, 404, 200, 404],
      list: [401, 403, 'has', 'hides', 'hides', 'has', 'hides'],
      events: [
        {
          type: 'SUBMIT_REPORT',
          payload: (w) => ({ period_start: w.iso(-1), period_end: w.iso(0), summary: 'weekly report' }),
          expect: [401, 403, 403, 404, 404, 200, 404],
        },
        {
          type: 'REPORT_INCIDENT',
          payload: (w) => ({ severity: 'minor', occurred_at: w.iso(0), description: 'a minor incident' }),
          expect: [401, 403, 200, 404, 404, 200, 404],
        },
      ],
    }),
    ...caseRows('certification-cases', {
      create: [401, 403, 403, 403, 403, 201, 422],
      read: [401, 403, 200, 200, 404, 200, 404],
      list: [401, 403, 'has', 'has', 'hides', 'has', 'hides'],
      events: [
        {
          type: 'POST_SURVEILLANCE',
          payload: () => ({ findings: 'annual audit', verdict: 'pass' }),
          expect: [401, 403, 403, 200, 404, 403, 404],
        },
        { type: 'WITHDRAW', expect: [401, 403, 403, 403, 404, 409, 404] },
        { type: 'REVOKE', payload: () => ({ reason: 'r' }), expect: [401, 403, 200, 403, 404, 403, 404], fresh: true },
      ],
    }),
    ...caseRows('genai-projects', {
      create: [401, 403, 403, 403, 403, 201, 201],
      read: [401, 403, 200, 200, 404, 200, 404],
      list: [401, 403, 'has', 'has', 'hides', 'has', 'hides'],
      events: [
        {
          type: 'POST_SAFETY_EVALUATION',
          payload: () => ({ benchmark: 'CValues', metrics: { refusal_rate: 0.97 }, verdict: 'pass' }),
          expect: [401, 403, 403, 200, 404, 403, 404],
        },
        { type: 'REQUEST_FINAL_EVALUATION', expect: [401, 403, 403, 403, 404, 422, 404] },
      ],
    }),
  ];

  function hooks(w: World): { live: string; throwaway: string; delivery: string } {
    return (w as World & { hooks: { live: string; throwaway: string; delivery: string } }).hooks;
  }

  /** A workbench route's path with its parameters filled in: without a session, which case or organization it names does not matter. */
  function workbenchUrl(route: string): string {
    return route
      .split(' ')[1]!
      .replace(':kind', 'sandbox-cases')
      .replace(':id', '00000000-0000-4000-8000-000000000000')
      .replace(':type', 'ADMIT');
  }

  function liveNumber(w: World, kind: string): string {
    return (w as World & { numbers: Record<string, string> }).numbers[kind]!;
  }

  type EventRow = { type: string; payload?: (w: World) => unknown; expect: Row['expect']; fresh?: boolean };
  function caseRows(kind: string, e: { create: Row['expect']; read: Row['expect']; list: Row['expect']; events: EventRow[] }): Row[] {
    const base = `/v1/${kind}`;
    const live = (w: World) => w.cases[kind]!.live;
    const appOf = (w: World) =>
      kind === 'sandbox-cases' ? w.sandboxApp() : kind === 'certification-cases' ? w.certificationApp() : w.genaiApp();
    const noPatch: Row['expect'] = [401, 403, 403, 403, 403, 200, 404];
    return [
      { route: `POST ${base}`, url: () => base, body: appOf, expect: e.create },
      { route: `PATCH ${base}/:id`, url: (w) => `${base}/${w.cases[kind]!.draft}`, body: appOf, expect: noPatch },
      { route: `GET ${base}/:id`, url: (w) => `${base}/${live(w)}`, expect: e.read },
      { route: `GET ${base}`, url: () => `${base}?limit=200`, holds: hasId(live), expect: e.list },
      ...e.events.map((ev): Row => ({
        route: `POST ${base}/:id/events`,
        variant: ev.type,
        url: (w) => `${base}/${ev.fresh ? (w as any).fresh[kind] : live(w)}/events`,
        body: (w) => (ev.payload ? { type: ev.type, payload: ev.payload(w) } : { type: ev.type }),
        expect: ev.expect,
      })),
      { route: `GET ${base}/:id/events`, url: (w) => `${base}/${live(w)}/events`, expect: e.read },
      { route: `GET ${base}/:id/allowed-events`, url: (w) => `${base}/${live(w)}/allowed-events`, expect: e.read },
    ];
  }

  const ta = await buildTestApp(t);
  const w = await buildWorld(ta);
  // The transparency log's public routes answer from a sequenced log under a checkpoint.
  await ta.app.transparency.sequencer.runOnce();
  const numberOf = async (kind: string, id: string) =>
    (await ta.req({ method: 'GET', url: `/v1/${kind}/${id}`, token: w.tokens.regulator })).json().number as string;
  Object.assign(w, {
    numbers: {
      'sandbox-cases': await numberOf('sandbox-cases', w.cases['sandbox-cases']!.live),
      'genai-projects': await numberOf('genai-projects', w.cases['genai-projects']!.live),
    },
    hooks: await (async () => {
      const hook = async () => (await ta.req({ method: 'POST', url: '/v1/webhooks', token: w.c.applicant.token, payload: { url: 'https://hooks.example.cn/owner', events: ['*'] } })).json().id as string;
      const live = await hook();
      const delivery = await ta.app.db.insertInto('webhook_deliveries').values({ endpoint_id: live, type: 'ping', data: '{}', created_at: ta.clock.now(), next_attempt_at: ta.clock.now(), expires_at: ta.clock.now() }).returning('id').executeTakeFirstOrThrow();
      return { live, throwaway: await hook(), delivery: delivery.id };
    })(),
    // A certified case of its own for the one event that ends the certificate (REVOKE).
    fresh: { 'certification-cases': (await w.c.certify({ product: w.robot, scheme: 'robot-safety', lab: w.labA })).id },
  });
  const orgOf: Partial<Record<Who, string>> = {
    lab_assigned: w.labA.org.id,
    lab_other: w.labB.org.id,
    applicant_owner: w.c.applicantOrg.id,
    applicant_other: w.c.otherOrg.id,
  };

  t.test('the table has a row for every route the app serves, and nothing else', async (t) => {
    const served = registeredRoutes(ta.app);
    const gets = new Set(served.filter((r) => r.method === 'GET').map((r) => r.path));
    t.ok(
      served.filter((r) => r.method === 'HEAD').every((r) => gets.has(r.path)),
      'every HEAD route is the twin of a GET route (checked with it below)',
    );
    const servedKeys = new Set(served.filter((r) => r.method !== 'HEAD').map(routeKey));
    const tableKeys = new Set(ROWS.map((r) => r.route));
    t.same(
      [...servedKeys].filter((k) => !tableKeys.has(k)),
      [],
      'every served route has a row (add one for a new route)',
    );
    t.same(
      [...tableKeys].filter((k) => !servedKeys.has(k)),
      [],
      'every row names a served route',
    );
    t.ok(servedKeys.size >= 40, `${servedKeys.size} routes`);
  });

  t.test('every route × every caller answers as the table says, and a refusal stores nothing', async (t) => {
    let cells = 0;
    const failures: string[] = [];
    for (const row of ROWS) {
      const [method] = row.route.split(' ') as [string];
      for (const [i, who] of COLUMNS.entries()) {
        const want = row.expect[i]!;
        const token = w.tokens[who];
        const name = `${row.route}${row.variant ? ` (${row.variant})` : ''} as ${who}`;
        const mutating = method !== 'GET';
        const before = mutating && typeof want === 'number' && want >= 400 ? await fingerprint(ta.database.db) : null;
        const res = await ta.req({ method: method as never, url: row.url(w), token, payload: row.body?.(w) as never });
        cells++;
        const wantStatus = typeof want === 'number' ? want : 200;
        if (res.statusCode !== wantStatus) failures.push(`${name}: ${res.statusCode}, expected ${wantStatus}: ${res.body.slice(0, 200)}`);
        // Web pages answer errors as pages (SPEC §2); everything else as problems.
        const shape = row.route.includes(' /workbench') ? (res.statusCode >= 400 && !/^text\/html/.test(String(res.headers['content-type'])) ? 'a workbench error that is not a page' : null) : problemShapeError(res);
        if (shape) failures.push(`${name}: not a problem (${shape})`);
        if (before) {
          const changed = diffFingerprints(before, await fingerprint(ta.database.db));
          if (changed.length) failures.push(`${name}: refused, but changed ${changed.join(', ')}`);
        }
        if (typeof want === 'string' && res.statusCode === 200) {
          const items = res.json().items as any[];
          if (row.holds!(w, items) !== (want === 'has'))
            failures.push(`${name}: the list ${want === 'has' ? 'lacks' : 'shows'} the representative record`);
          const org = orgOf[who];
          if (org && row.route.startsWith('GET /v1/') && !row.route.includes('/register/')) {
            const foreign = items.filter((x) =>
              row.route === 'GET /v1/organizations'
                ? x.id !== org
                : who.startsWith('lab') && x.lab_id !== undefined
                  ? x.lab_id !== org
                  : x.organization_id !== org,
            );
            if (foreign.length) failures.push(`${name}: the list holds ${foreign.length} record(s) of another organization`);
          }
        }
        if (method === 'GET') {
          const head = await ta.req({ method: 'HEAD', url: row.url(w), token });
          cells++;
          if (head.statusCode !== wantStatus) failures.push(`HEAD ${name}: ${head.statusCode}, expected ${wantStatus}`);
        }
      }
    }
    t.same(failures, [], `${cells} requests (${ROWS.length} rows × ${COLUMNS.length} callers, GET rows also as HEAD)`);
  });

  t.test("another organization's record answers exactly like one that does not exist", async (t) => {
    const pairs: Array<[string, string]> = [];
    for (const kind of ['sandbox-cases', 'certification-cases', 'genai-projects']) {
      const id = w.cases[kind]!.live;
      for (const suffix of ['', '/events', '/allowed-events'])
        pairs.push([`/v1/${kind}/${id}${suffix}`, `/v1/${kind}/${w.randomId()}${suffix}`]);
    }
    pairs.push(
      [`/v1/products/${w.robot.id}`, `/v1/products/${w.randomId()}`],
      [`/v1/organizations/${w.c.applicantOrg.id}`, `/v1/organizations/${w.randomId()}`],
      [`/v1/webhooks/${hooks(w).live}`, `/v1/webhooks/${w.randomId()}`],
      [`/v1/webhooks/${hooks(w).live}/deliveries`, `/v1/webhooks/${w.randomId()}/deliveries`],
    );
    for (const who of ['applicant_other', 'lab_other'] as const) {
      for (const [theirs, none] of pairs) {
        const a = await ta.req({ method: 'GET', url: theirs, token: w.tokens[who] });
        const b = await ta.req({ method: 'GET', url: none, token: w.tokens[who] });
        t.equal(a.statusCode, 404, `${who} ${theirs}`);
        t.same({ ...a.json(), instance: undefined }, { ...b.json(), instance: undefined }, `${who}: ${theirs} reads like a missing record`);
      }
      const kinds = {
        'sandbox-cases': 'REPORT_INCIDENT',
        'certification-cases': 'POST_SURVEILLANCE',
        'genai-projects': 'POST_SAFETY_EVALUATION',
      } as Record<string, string>;
      for (const [kind, type] of Object.entries(kinds)) {
        const a = await ta.req({ method: 'POST', url: `/v1/${kind}/${w.cases[kind]!.live}/events`, token: w.tokens[who], payload: { type } });
        const b = await ta.req({ method: 'POST', url: `/v1/${kind}/${w.randomId()}/events`, token: w.tokens[who], payload: { type } });
        t.same([a.statusCode, a.json()], [b.statusCode, b.json()], `${who}: firing ${type} on another's case reads like a missing case`);
      }
    }
    for (const kind of ['sandbox-cases', 'certification-cases']) {
      const theirs = await ta.req({
        method: 'POST',
        url: `/v1/${kind}`,
        token: w.tokens.applicant_other,
        payload: (kind === 'sandbox-cases' ? w.sandboxApp() : w.certificationApp()) as never,
      });
      const body =
        kind === 'sandbox-cases' ? { ...w.sandboxApp(), product_id: w.randomId() } : { ...w.certificationApp(), product_id: w.randomId() };
      const none = await ta.req({ method: 'POST', url: `/v1/${kind}`, token: w.tokens.applicant_other, payload: body as never });
      t.same(
        [theirs.statusCode, theirs.json()],
        [none.statusCode, none.json()],
        `${kind}: naming another's product reads like naming no product`,
      );
    }
  });

  t.test('list filters cannot reach into another organization', async (t) => {
    const owner = w.c.applicantOrg.id;
    const urls = [
      ...['sandbox-cases', 'certification-cases', 'genai-projects'].flatMap((k) => [
        `/v1/${k}?organization_id=${owner}`,
        `/v1/${k}?product_id=${w.robot.id}`,
        `/v1/${k}?state=draft`,
      ]),
      `/v1/products?organization_id=${owner}`,
      `/v1/organizations?kind=enterprise`,
    ];
    for (const who of ['applicant_other', 'lab_other'] as const) {
      for (const url of urls) {
        const r = await ta.req({ method: 'GET', url, token: w.tokens[who] });
        t.equal(r.statusCode, 200, `${who} ${url}`);
        const leaked = (r.json().items as any[]).filter((i) => i.organization_id === owner || i.id === owner);
        t.same(leaked, [], `${who} ${url}: nothing of the owner's organization`);
      }
    }
  });

  t.test('the public register shows no draft, no case under review and no private field', async (t) => {
    const allowed: Record<string, string[]> = {
      '/v1/register/sandbox': ['number', 'organization', 'product', 'state', 'testing_period', 'ended_at'],
      '/v1/register/certificates': ['holder', 'issued_at', 'lab', 'number', 'product', 'scheme', 'status', 'valid_until'],
      '/v1/register/genai-projects': [
        'approved_at',
        'completed_at',
        'lead_organization',
        'number',
        'partners',
        'research_areas',
        'state',
        'title',
      ],
    };
    const texts: string[] = [];
    for (const [url, keys] of Object.entries(allowed)) {
      const r = await ta.req({ method: 'GET', url: `${url}?limit=200` });
      t.equal(r.statusCode, 200);
      texts.push(r.body);
      const items = r.json().items as any[];
      t.ok(items.length > 0, `${url} lists something`);
      for (const item of items)
        t.same(
          Object.keys(item).filter((k) => !keys.includes(k)),
          [],
          `${url}: only public fields`,
        );
      const numbers = items.map((i) => i.number);
      t.same(
        numbers.filter((n) => w.notPublic.includes(n)),
        [],
        `${url}: no draft or unreviewed case`,
      );
      for (const q of ['SBX', 'CERT', 'GAI', 'Org', SECRET]) {
        const s = await ta.req({ method: 'GET', url: `${url}?q=${q}&limit=200` });
        if (s.statusCode === 200) {
          texts.push(s.body);
          t.same(
            (s.json().items as any[]).map((i) => i.number).filter((n) => w.notPublic.includes(n)),
            [],
            `${url}?q=${q}: no draft or unreviewed case`,
          );
        }
      }
    }
    for (const url of [
      '/register/',
      '/register?kind=sandbox',
      '/register?kind=genai-projects',
      '/register?kind=certificates',
      `/register?q=${SECRET}`,
      `/register/certificates/${w.certificateNumber}`,
      `/register/sandbox/${liveNumber(w, 'sandbox-cases')}`,
      `/register/genai-projects/${liveNumber(w, 'genai-projects')}`,
    ]) {
      const page = await ta.req({ method: 'GET', url });
      t.equal(page.statusCode, 200, `page ${url}`);
      texts.push(page.body);
      t.same(
        w.notPublic.filter((n) => page.body.includes(n)),
        [],
        `page ${url}: no draft or unreviewed case`,
      );
    }
    for (const n of w.notPublic) {
      for (const kind of ['sandbox', 'genai-projects', 'certificates']) {
        const page = await ta.req({ method: 'GET', url: `/register/${kind}/${n}` });
        t.equal(page.statusCode, 404, `page /register/${kind}/${n} is not found`);
      }
    }
    const cert = await ta.req({ method: 'GET', url: `/v1/register/certificates/${w.certificateNumber}` });
    texts.push(cert.body);
    t.same(Object.keys(cert.json()).sort(), allowed['/v1/register/certificates']);
    for (const n of w.notPublic) {
      const r = await ta.req({ method: 'GET', url: `/v1/register/certificates/${n}` });
      t.equal(r.statusCode, 404, `${n} is not a certificate`);
    }
    // A marker is SECRET-<field>-<hex>; a page may echo the bare search word back.
    const marker = new RegExp(`${SECRET}-[a-z-]+-[0-9a-f]{8}`);
    for (const kind of ['sandbox-cases', 'certification-cases', 'genai-projects']) {
      const own = await ta.req({ method: 'GET', url: `/v1/${kind}/${w.cases[kind]!.live}`, token: w.tokens.applicant_owner });
      t.match(own.body, marker, `control: the owner's view of the live ${kind} case holds private markers`);
    }
    t.notOk(
      texts.some((x) => marker.test(x)),
      'no private marker (application, report, contact, product description) in anything the public sees',
    );
  });
});
