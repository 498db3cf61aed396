import fc from 'fast-check';
import { buildTestApp, fixtures, makeCreditCode } from '../helpers/app.js';
import { assertProblem, countRows, genaiBlock, productBody, robotBlock } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const lab = await f.org({ kind: 'lab' });

  /** What the foundation stores; a refused request must leave all of it as it was. */
  const snapshot = async () => ({
    organizations: await countRows(ta, 'organizations'),
    principals: await countRows(ta, 'principals'),
    products: await countRows(ta, 'products'),
    audit: await countRows(ta, 'audit_events'),
    accreditation: JSON.stringify((await ta.database.db.selectFrom('organizations').select('accreditation').where('id', '=', lab.id).executeTakeFirstOrThrow()).accreditation),
  });

  type Route = { name: string; method: 'POST' | 'PUT'; url: string; token: string; valid: () => Record<string, unknown>; textField: string };
  const routes: Route[] = [
    {
      name: 'POST /v1/organizations',
      method: 'POST',
      url: '/v1/organizations',
      token: ta.adminToken,
      valid: () => ({ name: 'Fuzz Ltd', kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'f@example.cn' }),
      textField: 'name',
    },
    {
      name: 'PUT /v1/organizations/:id/accreditation',
      method: 'PUT',
      url: `/v1/organizations/${lab.id}/accreditation`,
      token: f.regulator.token,
      valid: () => ({ accreditation_number: 'CNAS L9999', schemes: ['ai-ethics'], valid_until: '2031-01-01T00:00:00Z' }),
      textField: 'accreditation_number',
    },
    { name: 'POST /v1/principals', method: 'POST', url: '/v1/principals', token: ta.adminToken, valid: () => ({ role: 'regulator', name: 'Fuzz' }), textField: 'name' },
    { name: 'POST /v1/products', method: 'POST', url: '/v1/products', token: f.applicant.token, valid: () => productBody({ kind: 'robot', robot: robotBlock, genai: genaiBlock }), textField: 'name' },
  ];

  const raw = (payload: string) => ({ payload, headers: { 'content-type': 'application/json' } });
  const MALFORMED: Array<[string, (r: Route) => { payload: string; headers: Record<string, string> }, number, string]> = [
    ['invalid JSON', () => raw('{"name": '), 400, 'validation_failed'],
    ['trailing garbage after JSON', (r) => raw(`${JSON.stringify(r.valid())} trailing`), 400, 'validation_failed'],
    ['a __proto__ key', (r) => raw(JSON.stringify(r.valid()).replace(/^\{/, '{"__proto__": {"role": "admin", "polluted": true},')), 400, 'validation_failed'],
    ['a nested __proto__ key', () => raw('{"robot": {"__proto__": {"x": 1}}}'), 400, 'validation_failed'],
    ['a constructor.prototype key', () => raw('{"constructor": {"prototype": {"polluted": true}}}'), 400, 'validation_failed'],
    ['an array instead of an object', (r) => raw(JSON.stringify([r.valid()])), 400, 'validation_failed'],
    ['an empty array', () => raw('[]'), 400, 'validation_failed'],
    ['null', () => raw('null'), 400, 'validation_failed'],
    ['a bare string', () => raw('"hello"'), 400, 'validation_failed'],
    ['a number', () => raw('42'), 400, 'validation_failed'],
    ['true', () => raw('true'), 400, 'validation_failed'],
    ['an empty body', () => raw(''), 400, 'validation_failed'],
    ['an empty object', () => raw('{}'), 400, 'validation_failed'],
    ['a field that is an object instead of a string', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: { $gt: '' } })), 400, 'validation_failed'],
    ['a field that is an array', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: ['a', 'b'] })), 400, 'validation_failed'],
    ['a field that is null', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: null })), 400, 'validation_failed'],
    ['a huge string under the body limit', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: 'x'.repeat(900_000) })), 400, 'validation_failed'],
    ['a huge string over the body limit', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: 'x'.repeat(1_100_000) })), 413, 'payload_too_large'],
    ['a NUL character in a text field', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: 'Fuzz\u0000Ltd' })), 400, 'validation_failed'],
    ['a lone surrogate in a text field', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: 'Fuzz\ud800Ltd' })), 400, 'validation_failed'],
    ['deeply nested arrays', () => raw('['.repeat(200_000) + ']'.repeat(200_000)), 400, 'validation_failed'],
    ['deeply nested objects in a field', (r) => raw(JSON.stringify({ ...r.valid(), [r.textField]: 0 }).replace(/0\}$/, '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000) + '}')), 400, 'validation_failed'],
    ['a huge number', (r) => raw(JSON.stringify(r.valid()).replace(/^\{/, '{"n": 1e999999,')), 400, 'validation_failed'],
    ['10 000 unknown fields', (r) => raw(JSON.stringify({ ...r.valid(), ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`f${i}`, i])) })), 400, 'validation_failed'],
    ['invalid UTF-8', () => ({ payload: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) as never, headers: { 'content-type': 'application/json' } }), 400, 'validation_failed'],
  ];

  for (const route of routes) {
    t.test(`${route.name}: malformed bodies get a 4xx problem, never a 5xx, and store nothing`, async (t) => {
      const before = await snapshot();
      for (const [what, make, status, code] of MALFORMED) {
        const { payload, headers } = make(route);
        const res = await ta.req({ method: route.method, url: route.url, token: route.token, payload, headers });
        t.ok(res.statusCode < 500, `${what}: ${res.statusCode} is not a 5xx`);
        t.test(what, async (t) => void assertProblem(t, res, status, code));
      }
      t.same(await snapshot(), before, 'nothing stored');
      t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is not polluted');
    });
  }

  t.test('a date-time with a leap second is refused, not a 500', async (t) => {
    const res = await ta.req({ method: 'PUT', url: `/v1/organizations/${lab.id}/accreditation`, token: f.regulator.token, payload: { ...routes[1]!.valid(), valid_until: '2030-12-31T23:59:60Z' } });
    assertProblem(t, res, 400, 'validation_failed', 'body/valid_until');
  });

  // Any JSON value in place of any one field of a valid body: the answer is a 2xx or a 4xx problem.
  const anyJson = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('\u0000', '\ud800', '\udfff x', 'a\u0000b', ' ', '', '9999-12-31T23:59:60Z', '0000-01-01T00:00:00Z', '-1', 'NaN', 1e308, -0, 2 ** 53 + 1),
  );
  for (const route of routes) {
    t.test(`${route.name}: any JSON in place of one field never gets a 5xx (property)`, async (t) => {
      const fields = Object.keys(route.valid());
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fields, 'extra'), anyJson, async (field, value) => {
          const res = await ta.req({ method: route.method, url: route.url, token: route.token, payload: { ...route.valid(), [field]: value } as never });
          if (res.statusCode >= 500) return false;
          if (res.statusCode >= 400) return /^application\/problem\+json/.test(String(res.headers['content-type'])) && JSON.parse(res.body).status === res.statusCode;
          return true;
        }),
        { numRuns: 150 },
      );
      t.pass('no 5xx');
    });
  }

  t.test('a body with 50,000 wrong items names the first 100 and says how many more, not each (a 100 kB body had a 20 MB answer)', async (t) => {
    const before = await snapshot();
    const payload = JSON.stringify({ ...productBody({ kind: 'ai_system' }), domains: Array(50_000).fill(1) });
    const r = await ta.req({ method: 'POST', url: '/v1/products', token: f.applicant.token, payload, headers: { 'content-type': 'application/json' } });
    assertProblem(t, r, 400, 'validation_failed');
    const { errors, detail } = r.json();
    t.equal(errors.length, 101, 'the first 100 field errors and one entry for the rest');
    t.same(errors.slice(0, 100).map((e: { path: string }) => e.path), Array.from({ length: 100 }, (_, i) => `body/domains/${i}`));
    t.match(errors[0].message, /^must be one of: /);
    t.same(errors.at(-1), { path: 'body', message: 'has 49901 more errors not listed (the first 100 are)' });
    t.ok(r.body.length < 64 * 1024, `an answer of ${r.body.length} bytes`);
    t.match(detail, /^body\/domains\/0: must be one of: .*; body: has 49901 more errors not listed \(the first 100 are\)$/);
    t.same(await snapshot(), before, 'nothing stored');
    const few = await ta.req({ method: 'POST', url: '/v1/products', token: f.applicant.token, payload: { ...productBody({ kind: 'ai_system' }), domains: [1, 2] } });
    t.same(few.json().errors.map((e: { path: string }) => e.path), ['body/domains/0', 'body/domains/1'], 'a few errors are all named, with no extra entry');
  });
});
