// How a request's credentials are read (SPEC §2): a public route ignores an Authorization header it
// does not need, the scheme is case-insensitive (RFC 9110 §11.1), and an answer to a request that
// needs a principal is never stored by a cache (Cache-Control: no-store), errors included.
import { buildTestApp, fixtures } from '../helpers/app.js';
import { assertProblem } from '../foundation/support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const token = f.applicant.token as string;

  const unusable = {
    'a token that is not one': 'Bearer garbage',
    'a well-formed token nobody holds': `Bearer gdai_${'A'.repeat(43)}`,
    'another scheme': 'Basic dXNlcjpwYXNz',
    'an empty header': '',
  };

  t.test('a public route ignores credentials it does not need', async (t) => {
    for (const url of ['/v1/register/sandbox', '/v1/register/certificates', '/v1/register/genai-projects', '/v1/schemes', '/v1/workflows', '/health/live']) {
      for (const [what, authorization] of Object.entries(unusable)) {
        const res = await ta.req({ method: 'GET', url, headers: { authorization } });
        t.equal(res.statusCode, 200, `${url} with ${what}: ${res.body.slice(0, 120)}`);
      }
    }
  });

  t.test('a protected route still refuses them with 401', async (t) => {
    for (const authorization of Object.values(unusable)) {
      assertProblem(t, await ta.req({ method: 'GET', url: '/v1/me', headers: { authorization } }), 401, 'unauthenticated');
    }
  });

  t.test('the Bearer scheme is matched without regard to case', async (t) => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR', 'Bearer']) {
      const res = await ta.req({ method: 'GET', url: '/v1/me', headers: { authorization: `${scheme} ${token}` } });
      t.equal(res.statusCode, 200, `${scheme}: ${res.body.slice(0, 120)}`);
    }
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/me', headers: { authorization: `bearer ${token.toLowerCase()}x` } }), 401, 'unauthenticated');
  });

  t.test('every answer to a request that needs a principal has Cache-Control: no-store, errors included', async (t) => {
    const answers = {
      'a read': await ta.req({ method: 'GET', url: '/v1/me', token }),
      'a list': await ta.req({ method: 'GET', url: '/v1/products', token }),
      'a creation': await ta.req({ method: 'POST', url: '/v1/products', token, payload: { name: 'n', version: '1', kind: 'ai_system', description: 'd', intended_use: 'u', domains: ['other'], risk_level: 'low' } }),
      'a 400': await ta.req({ method: 'GET', url: '/v1/products?limit=0', token }),
      'a 401': await ta.req({ method: 'GET', url: '/v1/me' }),
      'a 403': await ta.req({ method: 'POST', url: '/v1/principals', token, payload: { role: 'admin' } }),
      'a 404': await ta.req({ method: 'GET', url: '/v1/products/00000000-0000-4000-8000-000000000000', token }),
    };
    for (const [what, res] of Object.entries(answers)) {
      t.ok(res.statusCode > 0, `${what}: ${res.statusCode}`);
      t.equal(res.headers['cache-control'], 'no-store', `${what}: Cache-Control: no-store`);
    }
    const limited = await buildTestApp(t, { env: { RATE_LIMIT_MAX: '1' } });
    await limited.req({ method: 'GET', url: '/v1/me', token: limited.adminToken });
    const refused = await limited.req({ method: 'GET', url: '/v1/me', token: limited.adminToken });
    assertProblem(t, refused, 429, 'rate_limited');
    t.equal(refused.headers['cache-control'], 'no-store', 'a 429 to a principal: no-store');
  });
});
