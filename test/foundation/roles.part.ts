import { buildTestApp, fixtures, makeCreditCode } from '../helpers/app.js';
import { assertProblem, countRows, productBody } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const lab = await f.org({ kind: 'lab' });
  const labPrincipal = await f.principal('lab', lab.id);
  const product = await f.product(f.applicant.token);
  const tokens = { admin: ta.adminToken, regulator: f.regulator.token as string, applicant: f.applicant.token as string, lab: labPrincipal.token as string };
  type Role = keyof typeof tokens;

  const orgBody = () => ({ name: 'Refused Ltd', kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'x@example.cn' });
  const accreditationBody = { accreditation_number: 'CNAS L0001', schemes: ['ai-safety-risk'], valid_until: '2030-01-01T00:00:00Z' };

  type Route = { name: string; method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: () => string; body?: () => unknown; refused: Role[]; stored?: () => Promise<number> };
  const routes: Route[] = [
    { name: 'create organization', method: 'POST', url: () => '/v1/organizations', body: orgBody, refused: ['applicant', 'lab'], stored: () => countRows(ta, 'organizations') },
    { name: 'get organization', method: 'GET', url: () => `/v1/organizations/${f.applicantOrg.id}`, refused: [] },
    { name: 'list organizations', method: 'GET', url: () => '/v1/organizations', refused: [] },
    {
      name: 'set accreditation',
      method: 'PUT',
      url: () => `/v1/organizations/${lab.id}/accreditation`,
      body: () => accreditationBody,
      refused: ['admin', 'applicant', 'lab'],
      stored: async () => ((await ta.database.db.selectFrom('organizations').select('accreditation').where('id', '=', lab.id).executeTakeFirstOrThrow()).accreditation ? 1 : 0),
    },
    { name: 'create principal', method: 'POST', url: () => '/v1/principals', body: () => ({ role: 'regulator' }), refused: ['regulator', 'applicant', 'lab'], stored: () => countRows(ta, 'principals') },
    {
      name: 'revoke principal',
      method: 'DELETE',
      url: () => `/v1/principals/${f.otherApplicant.id}`,
      refused: ['regulator', 'applicant', 'lab'],
      stored: async () => ((await ta.database.db.selectFrom('principals').select('revoked_at').where('id', '=', f.otherApplicant.id).executeTakeFirstOrThrow()).revoked_at ? 1 : 0),
    },
    { name: 'create product', method: 'POST', url: () => '/v1/products', body: () => productBody(), refused: ['admin', 'regulator', 'lab'], stored: () => countRows(ta, 'products') },
    { name: 'get product', method: 'GET', url: () => `/v1/products/${product.id}`, refused: ['admin'] },
    { name: 'list products', method: 'GET', url: () => '/v1/products', refused: ['admin'] },
  ];

  for (const r of routes) {
    t.test(`${r.name}: the public gets 401 and nothing changes`, async (t) => {
      const before = await r.stored?.();
      const res = await ta.req({ method: r.method, url: r.url(), payload: r.body?.() as never });
      assertProblem(t, res, 401, 'unauthenticated');
      if (r.stored) t.equal(await r.stored(), before, 'nothing stored');
    });

    if (r.body) {
      t.test(`${r.name}: the public gets 401 even for a body that breaks the schema`, async (t) => {
        const res = await ta.req({ method: r.method, url: r.url(), payload: { unknown_field: true } });
        assertProblem(t, res, 401, 'unauthenticated');
      });
    }

    t.test(`${r.name}: an unknown bearer token gets 401`, async (t) => {
      const res = await ta.req({ method: r.method, url: r.url(), token: `gdai_${'x'.repeat(43)}`, payload: r.body?.() as never });
      assertProblem(t, res, 401, 'unauthenticated');
    });

    for (const role of r.refused) {
      t.test(`${r.name}: role ${role} gets 403 and nothing changes`, async (t) => {
        const before = await r.stored?.();
        const res = await ta.req({ method: r.method, url: r.url(), token: tokens[role], payload: r.body?.() as never });
        assertProblem(t, res, 403, 'forbidden');
        if (r.stored) t.equal(await r.stored(), before, 'nothing stored');
      });
      if (r.body) {
        t.test(`${r.name}: role ${role} gets 403 before its body is validated`, async (t) => {
          const res = await ta.req({ method: r.method, url: r.url(), token: tokens[role], payload: { unknown_field: true } });
          assertProblem(t, res, 403, 'forbidden');
        });
      }
    }
  }

  t.test('a malformed Authorization header gets 401', async (t) => {
    for (const authorization of ['Basic YWRtaW46YWRtaW4=', 'Bearer', `Bearer ${ta.adminToken} extra`, `bearer${ta.adminToken}`, 'Bearer short']) {
      const res = await ta.req({ method: 'GET', url: '/v1/organizations', headers: { authorization } });
      assertProblem(t, res, 401, 'unauthenticated');
    }
  });

  t.test('each allowed role gets through', async (t) => {
    const allowed: Array<[string, 'GET' | 'POST', string, string, unknown?, number?]> = [
      ['admin creates an organization', 'POST', '/v1/organizations', tokens.admin, orgBody(), 201],
      ['regulator creates an organization', 'POST', '/v1/organizations', tokens.regulator, orgBody(), 201],
      ['applicant reads its organization', 'GET', `/v1/organizations/${f.applicantOrg.id}`, tokens.applicant],
      ['lab reads its organization', 'GET', `/v1/organizations/${lab.id}`, tokens.lab],
      ['lab lists organizations', 'GET', '/v1/organizations', tokens.lab],
      ['applicant creates a product', 'POST', '/v1/products', tokens.applicant, productBody(), 201],
      ['regulator reads a product', 'GET', `/v1/products/${product.id}`, tokens.regulator],
      ['lab lists products', 'GET', '/v1/products', tokens.lab],
    ];
    for (const [name, method, url, token, payload, status] of allowed) {
      const res = await ta.req({ method, url, token, payload: payload as never });
      t.equal(res.statusCode, status ?? 200, `${name}: ${res.body.slice(0, 200)}`);
    }
    const acc = await ta.req({ method: 'PUT', url: `/v1/organizations/${lab.id}/accreditation`, token: tokens.regulator, payload: accreditationBody });
    t.equal(acc.statusCode, 200, acc.body);
    t.equal(acc.json().accreditation.accreditation_number, 'CNAS L0001');
  });
});
