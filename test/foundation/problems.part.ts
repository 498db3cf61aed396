import { buildTestApp, fixtures, makeCreditCode } from '../helpers/app.js';
import { Schemas, mayHoldNonFinite, nonFinitePointer } from '../../src/schemas.js';
import { assertProblem, countRows, productBody, robotBlock } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const token = f.applicant.token as string;
  const problemSchema = new Schemas().validator('common/problem.json');

  t.test('400: a body that breaks its schema', async (t) => {
    const res = await ta.req({ method: 'POST', url: '/v1/products', token, payload: productBody({ risk_level: 'extreme', domains: [] }) });
    const p = assertProblem(t, res, 400, 'validation_failed', 'body/risk_level');
    t.ok(p.errors!.some((e) => e.path === 'body/domains'), 'every bad field is named, not only the first');
    t.match(p.detail, /body\/risk_level/);
    t.ok(problemSchema(p), 'the answer matches schemas/common/problem.json');
  });

  t.test('401: no token, and a token nobody holds', async (t) => {
    const none = assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products', token: null }), 401, 'unauthenticated');
    t.ok(problemSchema(none));
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products', token: `gdai_${'A'.repeat(43)}` }), 401, 'unauthenticated');
  });

  t.test('403: a role that may not', async (t) => {
    const p = assertProblem(t, await ta.req({ method: 'POST', url: '/v1/principals', token, payload: { role: 'admin' } }), 403, 'forbidden');
    t.ok(problemSchema(p));
  });

  t.test('404: no such record, and no such route', async (t) => {
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/organizations/00000000-0000-4000-8000-000000000000', token: ta.adminToken }), 404, 'not_found');
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/no-such-thing', token }), 404, 'not_found');
    assertProblem(t, await ta.req({ method: 'DELETE', url: '/v1/principals/00000000-0000-4000-8000-000000000000', token: ta.adminToken }), 404, 'not_found');
  });

  t.test('413: a body over 1 MiB is refused before it is read, and nothing is stored', async (t) => {
    const before = await countRows(ta, 'products');
    const big = productBody({ description: 'x'.repeat(1024 * 1024) });
    const p = assertProblem(t, await ta.req({ method: 'POST', url: '/v1/products', token, payload: big }), 413, 'payload_too_large');
    t.match(p.detail, /1048576/);
    const justUnder = productBody({ description: 'x'.repeat(1024 * 1024 - 400) });
    const under = await ta.req({ method: 'POST', url: '/v1/products', token, payload: justUnder });
    assertProblem(t, under, 400, 'validation_failed', 'body/description');
    t.equal(await countRows(ta, 'products'), before);
    assertProblem(t, await ta.req({ method: 'POST', url: '/v1/organizations', token: ta.adminToken, payload: { name: 'x'.repeat(2 * 1024 * 1024) } }), 413, 'payload_too_large');
  });

  t.test('415: a text/plain body, and other media types, are refused', async (t) => {
    const before = await countRows(ta, 'products');
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
      const res = await ta.req({ method: 'POST', url: '/v1/products', token, payload: JSON.stringify(productBody()), headers: { 'content-type': type } });
      assertProblem(t, res, 415, 'unsupported_media_type');
    }
    const plain = await ta.req({ method: 'PUT', url: `/v1/organizations/${f.applicantOrg.id}/accreditation`, token: f.regulator.token, payload: 'hello', headers: { 'content-type': 'text/plain' } });
    assertProblem(t, plain, 415, 'unsupported_media_type');
    t.equal(await countRows(ta, 'products'), before);
  });

  t.test('JSON with a charset parameter is still JSON', async (t) => {
    const res = await ta.req({ method: 'POST', url: '/v1/products', token, payload: JSON.stringify(productBody()), headers: { 'content-type': 'application/json; charset=utf-8' } });
    t.equal(res.statusCode, 201, res.body);
  });

  t.test('every answer carries x-request-id: a sane one given is echoed, otherwise one is made', async (t) => {
    const given = await ta.req({ method: 'GET', url: '/v1/products', token, headers: { 'x-request-id': 'trace-abc.123_X' } });
    t.equal(given.headers['x-request-id'], 'trace-abc.123_X');
    const onError = await ta.req({ method: 'GET', url: '/v1/products', headers: { 'x-request-id': 'err-42' } });
    t.equal(onError.statusCode, 401);
    t.equal(onError.headers['x-request-id'], 'err-42', 'echoed on a problem too');
    const onCreate = await ta.req({ method: 'POST', url: '/v1/organizations', token: ta.adminToken, headers: { 'x-request-id': 'create-1' }, payload: { name: 'Echo', kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'e@example.cn' } });
    t.equal(onCreate.statusCode, 201);
    t.equal(onCreate.headers['x-request-id'], 'create-1');
    for (const bad of ['has spaces in it', 'x'.repeat(65), 'new\\nline', '<script>']) {
      const res = await ta.req({ method: 'GET', url: '/health/live', headers: { 'x-request-id': bad } });
      t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${JSON.stringify(bad).slice(0, 20)} replaced by a fresh id`);
    }
    const a = await ta.req({ method: 'GET', url: '/health/live' });
    const b = await ta.req({ method: 'GET', url: '/health/live' });
    t.match(a.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    t.not(a.headers['x-request-id'], b.headers['x-request-id'], 'each request its own id');
  });

  t.test('429: too many requests is a problem too', async (t) => {
    const limited = await buildTestApp(t, { env: { RATE_LIMIT_MAX: '3' } });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await limited.req({ method: 'GET', url: '/v1/organizations', token: limited.adminToken });
      statuses.push(last.statusCode);
    }
    t.same(statuses, [200, 200, 200, 429]);
    assertProblem(t, last!, 429, 'rate_limited');
  });

  t.test('400: query numbers are finite; limit=Infinity, 1e400 or 400 digits is refused naming query/limit', async (t) => {
    for (const limit of ['Infinity', '-Infinity', '1e400', '9'.repeat(400)]) {
      for (const [url, tok] of [
        ['/v1/register/sandbox', undefined],
        ['/v1/products', token],
        ['/v1/sandbox-cases', token],
      ] as const) {
        const res = await ta.req({ method: 'GET', url: `${url}?limit=${limit}`, token: tok });
        const p = assertProblem(t, res, 400, 'validation_failed', 'query/limit');
        t.match(p.errors!.find((e) => e.path === 'query/limit')!.message, /finite/, `${url}?limit=${limit.slice(0, 12)}: says why`);
      }
    }
    t.equal((await ta.req({ method: 'GET', url: '/v1/register/sandbox?limit=200' })).statusCode, 200, 'the largest limit is served');
  });

  t.test('400: body numbers are finite; 1e400 or 400 digits in a body is refused naming the field, never stored as null', async (t) => {
    const before = await countRows(ta, 'products');
    const body = JSON.stringify(productBody({ kind: 'robot', robot: robotBlock }));
    t.match(body, /"payload_kg":5,/);
    for (const n of ['1e400', '-1e400', '9'.repeat(400), '1.5e999']) {
      const res = await ta.req({ method: 'POST', url: '/v1/products', token, headers: { 'content-type': 'application/json' }, payload: body.replace('"payload_kg":5,', `"payload_kg":${n},`) });
      const p = assertProblem(t, res, 400, 'validation_failed', 'body/robot/payload_kg');
      t.match(p.detail, /body\/robot\/payload_kg: must be a finite number/, `${n.slice(0, 12)}: says why`);
    }
    const nested = await ta.req({ method: 'POST', url: '/v1/products', token, headers: { 'content-type': 'application/json' }, payload: `${'['.repeat(3000)}1,{"a/b~":[2,1e400]}${']'.repeat(3000)}` });
    assertProblem(t, nested, 400, 'validation_failed', `body${'/0'.repeat(2999)}/1/a~1b~0/1`);
    t.equal(await countRows(ta, 'products'), before, 'nothing stored');
    // Found by the fuzz (seed 419122508): a bodyless POST with an Idempotency-Key hashed its body, and 1e400 there was a 500.
    const ping = await ta.req({ method: 'POST', url: '/v1/webhooks/00000000-0000-4000-8000-000000000000/ping', token, headers: { 'content-type': 'application/json', 'idempotency-key': '%00' }, payload: '{"a":1e400}' });
    assertProblem(t, ping, 400, 'validation_failed', 'body/a');
    const large = await ta.req({ method: 'POST', url: '/v1/products', token, headers: { 'content-type': 'application/json' }, payload: body.replace('"payload_kg":5,', '"payload_kg":1.5e3,') });
    t.equal(large.statusCode, 201, 'a finite number written with an exponent is accepted');
    t.equal(large.json().robot.payload_kg, 1500);
  });

  t.test('which JSON text is walked for numbers past a double: three-digit exponents and 309-digit runs, nothing else', async (t) => {
    for (const [text, may] of [
      ['1e400', true],
      ['1.5e999', true],
      ['1E+400', true],
      ['{"a":"1e400"}', true],
      ['9'.repeat(309), true],
      ['1e-400', false],
      ['1e99', false],
      ['9'.repeat(308), false],
      [`[${`${'9'.repeat(308)},`.repeat(50)}1]`, false],
      ['{"payload_kg":1.5e3}', false],
    ] as const) {
      t.equal(mayHoldNonFinite(text), may, `${text.slice(0, 24)}${text.length > 24 ? '…' : ''} (${text.length} chars)`);
      if (!may) t.equal(nonFinitePointer(JSON.parse(text)), null, 'and indeed holds none');
    }
  });

  t.test('400: a date without a time must be an RFC 3339 date-time, said once, without a regular expression', async (t) => {
    const lab = await f.org({ kind: 'lab' });
    for (const valid_until of ['2027-01-01', '2027-01-01T00:00:00', '2027-01-01T00:00:60Z']) {
      const res = await ta.req({
        method: 'PUT',
        url: `/v1/organizations/${lab.id}/accreditation`,
        token: f.regulator.token,
        payload: { accreditation_number: 'CNAS L1234', schemes: ['gb-t-45654'], valid_until },
      });
      const p = assertProblem(t, res, 400, 'validation_failed', 'body/valid_until');
      const said = p.errors!.filter((e) => e.path === 'body/valid_until');
      t.equal(said.length, 1, `${valid_until}: one message for the field (${JSON.stringify(said)})`);
      t.match(said[0]!.message, /^must be an RFC 3339 date-time/);
      t.notMatch(p.detail, /pattern|\\d|\[/, 'no regular expression in the detail');
    }
  });
});
