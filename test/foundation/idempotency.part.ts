import { sql } from '../../src/db/kysely.js';
import { buildTestApp, fixtures, makeCreditCode, uniq } from '../helpers/app.js';
import { assertProblem, auditTypes, countRows, productBody } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const token = f.applicant.token as string;
  const postProduct = (key: string | undefined, payload: unknown, as = token) =>
    ta.req({ method: 'POST', url: '/v1/products', token: as, payload: payload as never, headers: key === undefined ? {} : { 'idempotency-key': key } });
  const productsNamed = (name: string) => countRows(ta, 'products', ['name', name]);

  t.test('the same key and body answer the first response again, marked replayed, and create nothing twice', async (t) => {
    const key = `k-${uniq()}`;
    const body = productBody({ name: `Idem ${uniq()}` });
    const first = await postProduct(key, body);
    t.equal(first.statusCode, 201, first.body);
    t.equal(first.headers['idempotent-replayed'], undefined, 'the first answer is not a replay');
    const again = await postProduct(key, body);
    t.equal(again.statusCode, 201);
    t.equal(again.headers['idempotent-replayed'], 'true');
    t.equal(again.body, first.body, 'byte for byte the first body');
    t.equal(again.headers.location, first.headers.location);
    t.match(String(again.headers['content-type']), /^application\/json/);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const third = await postProduct(key, reordered);
    t.equal(third.headers['idempotent-replayed'], 'true', 'key order in the body does not matter');
    t.equal(third.json().id, first.json().id);
    t.equal(await productsNamed(body.name as string), 1, 'one product stored');
  });

  t.test('the same key with another body answers 422 idempotency_conflict and creates nothing', async (t) => {
    const key = `k-${uniq()}`;
    const name = `Idem ${uniq()}`;
    t.equal((await postProduct(key, productBody({ name }))).statusCode, 201);
    const before = await countRows(ta, 'products');
    const other = await postProduct(key, productBody({ name, version: '2.0' }));
    assertProblem(t, other, 422, 'idempotency_conflict');
    t.equal(other.headers['idempotent-replayed'], undefined);
    t.equal(await countRows(ta, 'products'), before, 'nothing created');
  });

  t.test('the same key from the same principal on another route is a conflict, and creates nothing', async (t) => {
    const key = `k-${uniq()}`;
    const org = await ta.req({
      method: 'POST',
      url: '/v1/organizations',
      token: ta.adminToken,
      headers: { 'idempotency-key': key },
      payload: { name: `Org ${uniq()}`, kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'o@example.cn' },
    });
    t.equal(org.statusCode, 201);
    const principals = await countRows(ta, 'principals');
    const res = await ta.req({ method: 'POST', url: '/v1/principals', token: ta.adminToken, headers: { 'idempotency-key': key }, payload: { role: 'regulator' } });
    assertProblem(t, res, 422, 'idempotency_conflict');
    t.equal(await countRows(ta, 'principals'), principals, 'no principal created');
  });

  t.test('keys belong to one principal: another applicant with the same key creates its own product', async (t) => {
    const key = `k-${uniq()}`;
    const body = productBody({ name: `Shared key ${uniq()}` });
    const a = await postProduct(key, body);
    const b = await postProduct(key, body, f.otherApplicant.token);
    t.equal(a.statusCode, 201);
    t.equal(b.statusCode, 201);
    t.equal(b.headers['idempotent-replayed'], undefined);
    t.not(a.json().id, b.json().id);
    t.equal(b.json().organization_id, f.otherOrg.id, "B never sees A's answer");
    t.equal(await productsNamed(body.name as string), 2);
  });

  t.test('a refused request is not remembered: the same key may be retried with a corrected body', async (t) => {
    const key = `k-${uniq()}`;
    const name = `Retry ${uniq()}`;
    assertProblem(t, await postProduct(key, productBody({ name, risk_level: 'extreme' })), 400, 'validation_failed', 'body/risk_level');
    const fixed = await postProduct(key, productBody({ name }));
    t.equal(fixed.statusCode, 201, fixed.body);
    t.equal(fixed.headers['idempotent-replayed'], undefined);
    t.equal(await productsNamed(name), 1);
  });

  t.test('a malformed key is refused and nothing is created', async (t) => {
    const before = await countRows(ta, 'products');
    for (const key of ['', 'has space', 'x'.repeat(256), 'ключ']) {
      const res = await ta.req({ method: 'POST', url: '/v1/products', token, payload: productBody(), headers: { 'idempotency-key': key } });
      assertProblem(t, res, 400, 'validation_failed', 'header/idempotency-key');
    }
    t.equal(await countRows(ta, 'products'), before);
  });

  t.test('concurrent requests with one key: one product, every answer a 201 or a 409 conflict', async (t) => {
    const key = `k-${uniq()}`;
    const body = productBody({ name: `Race ${uniq()}` });
    const answers = await Promise.all(Array.from({ length: 5 }, () => postProduct(key, body)));
    const created = answers.filter((r) => r.statusCode === 201);
    t.ok(created.length >= 1, 'at least one 201');
    t.equal(new Set(created.map((r) => r.json().id)).size, 1, 'every 201 is the same product');
    for (const r of answers.filter((r) => r.statusCode !== 201)) assertProblem(t, r, 409, 'conflict');
    t.equal(await productsNamed(body.name as string), 1);
  });

  t.test('a key is remembered for 24 hours, then free again', async (t) => {
    const key = `k-${uniq()}`;
    const first = await postProduct(key, productBody());
    t.equal(first.statusCode, 201);
    await sql`update idempotency_keys set created_at = now() - interval '25 hours' where key = ${key}`.execute(ta.database.db);
    const later = await postProduct(key, productBody({ version: '2.0' }));
    t.equal(later.statusCode, 201, 'an expired key is a new request, not a conflict');
    t.equal(later.headers['idempotent-replayed'], undefined);
    t.not(later.json().id, first.json().id);
  });

  t.test('stored answers survive a restart: a second instance on the same database replays them', async (t) => {
    const key = `k-${uniq()}`;
    const body = productBody({ name: `Restart ${uniq()}` });
    const first = await postProduct(key, body);
    t.equal(first.statusCode, 201);
    const second = await buildTestApp(t, { database: ta.database });
    const replay = await second.req({ method: 'POST', url: '/v1/products', token, payload: body, headers: { 'idempotency-key': key } });
    t.equal(replay.statusCode, 201);
    t.equal(replay.headers['idempotent-replayed'], 'true');
    t.equal(replay.body, first.body);
    t.equal(await productsNamed(body.name as string), 1);
  });

  t.test('a principal created with a key: the replay names the same principal, and its token is never stored', async (t) => {
    const key = `k-${uniq()}`;
    const payload = { role: 'applicant', organization_id: f.applicantOrg.id, name: `Idem principal ${uniq()}` };
    const before = (await auditTypes(ta, 'PRINCIPAL_CREATED')).length;
    const first = await ta.req({ method: 'POST', url: '/v1/principals', token: ta.adminToken, payload, headers: { 'idempotency-key': key } });
    t.equal(first.statusCode, 201);
    const secret = first.json().token as string;
    t.match(secret, /^gdai_[A-Za-z0-9_-]{43}$/, 'a token of 32 random bytes');
    const replay = await ta.req({ method: 'POST', url: '/v1/principals', token: ta.adminToken, payload, headers: { 'idempotency-key': key } });
    t.equal(replay.statusCode, 201);
    t.equal(replay.headers['idempotent-replayed'], 'true');
    t.equal(replay.json().id, first.json().id, 'the same principal');
    t.equal(replay.json().token, undefined, 'the token was shown once and is not shown again');
    t.equal(await countRows(ta, 'principals', ['name', payload.name]), 1, 'one principal');
    t.equal((await auditTypes(ta, 'PRINCIPAL_CREATED')).length, before + 1, 'one audit event');
    for (const table of ['idempotency_keys', 'principals', 'audit_events']) {
      const found = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} t where t::text like ${`%${secret.slice(5)}%`}`.execute(ta.database.db);
      t.equal(found.rows[0]!.n, 0, `the token appears nowhere in ${table}`);
    }
    const me = await ta.req({ method: 'GET', url: '/v1/me', token: secret });
    t.equal(me.statusCode, 200, 'the token shown once still works');
  });
});
