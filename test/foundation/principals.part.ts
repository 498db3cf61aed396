import { createHash, randomBytes } from 'node:crypto';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { buildTestApp, fixtures, openTestDatabase, testSigningKeyFile } from '../helpers/app.js';
import { assertProblem, auditTypes, countRows } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const lab = await f.org({ kind: 'lab' });
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
  const create = (payload: unknown, token = ta.adminToken) => ta.req({ method: 'POST', url: '/v1/principals', token, payload: payload as never });
  const revoke = (id: string, token = ta.adminToken) => ta.req({ method: 'DELETE', url: `/v1/principals/${id}`, token });
  const me = (token: string) => ta.req({ method: 'GET', url: '/v1/me', token });

  t.test('a new principal: 201 with its token shown once, stored only as a hash, and audited', async (t) => {
    const before = (await auditTypes(ta, 'PRINCIPAL_CREATED')).length;
    const res = await create({ role: 'applicant', organization_id: f.applicantOrg.id, name: 'Compliance desk' });
    t.equal(res.statusCode, 201, res.body);
    const p = res.json();
    t.same(Object.keys(p).sort(), ['id', 'name', 'organization_id', 'role', 'token']);
    t.match(p, { role: 'applicant', organization_id: f.applicantOrg.id, name: 'Compliance desk' });
    t.equal(res.headers.location, `/v1/principals/${p.id}`);
    t.ok(Buffer.from(p.token.replace(/^gdai_/, ''), 'base64url').length >= 32, 'at least 32 random bytes');
    const row = await ta.database.db.selectFrom('principals').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
    t.equal(row.token_hash, sha256(p.token), 'the hash is stored');
    t.notMatch(JSON.stringify(row), p.token, 'the token is not');
    const audit = await auditTypes(ta, 'PRINCIPAL_CREATED');
    t.equal(audit.length, before + 1);
    t.equal(audit.at(-1)!.payload.principal_id, p.id);
    t.notMatch(JSON.stringify(audit.at(-1)), p.token, 'the audit event holds no token');
    t.match((await me(p.token)).json(), { id: p.id, role: 'applicant', organization_id: f.applicantOrg.id });
  });

  t.test('two principals never share a token', async (t) => {
    const a = (await create({ role: 'regulator' })).json();
    const b = (await create({ role: 'regulator' })).json();
    t.not(a.token, b.token);
  });

  t.test('a revoked token answers 401 at once, on every route', async (t) => {
    const p = (await create({ role: 'applicant', organization_id: f.applicantOrg.id })).json();
    t.equal((await me(p.token)).statusCode, 200, 'works before');
    const before = (await auditTypes(ta, 'PRINCIPAL_REVOKED')).length;
    const res = await revoke(p.id);
    t.equal(res.statusCode, 204);
    t.equal(res.body, '');
    assertProblem(t, await me(p.token), 401, 'unauthenticated');
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products', token: p.token }), 401, 'unauthenticated');
    const products = await countRows(ta, 'products');
    const post = await ta.req({ method: 'POST', url: '/v1/products', token: p.token, payload: { name: 'After revocation' } });
    assertProblem(t, post, 401, 'unauthenticated');
    t.equal(await countRows(ta, 'products'), products, 'nothing stored');
    const row = await ta.database.db.selectFrom('principals').select('revoked_at').where('id', '=', p.id).executeTakeFirstOrThrow();
    t.ok(row.revoked_at instanceof Date, 'revoked_at is stored');
    const audit = await auditTypes(ta, 'PRINCIPAL_REVOKED');
    t.equal(audit.length, before + 1);
    t.equal(audit.at(-1)!.payload.principal_id, p.id);
  });

  t.test('revoking twice is harmless and audited once; an unknown principal is 404', async (t) => {
    const p = (await create({ role: 'regulator' })).json();
    t.equal((await revoke(p.id)).statusCode, 204);
    const before = (await auditTypes(ta, 'PRINCIPAL_REVOKED')).length;
    t.equal((await revoke(p.id)).statusCode, 204);
    t.equal((await auditTypes(ta, 'PRINCIPAL_REVOKED')).length, before, 'no second audit event');
    assertProblem(t, await revoke('00000000-0000-4000-8000-000000000000'), 404, 'not_found');
    assertProblem(t, await revoke('not-a-uuid'), 400, 'validation_failed', 'path/id');
  });

  t.test('an admin revoking itself loses access at once', async (t) => {
    const admin = (await create({ role: 'admin' })).json();
    t.equal((await revoke(admin.id, admin.token)).statusCode, 204);
    assertProblem(t, await create({ role: 'regulator' }, admin.token), 401, 'unauthenticated');
  });

  t.test('roles and organizations must fit together', async (t) => {
    const before = await countRows(ta, 'principals');
    assertProblem(t, await create({ role: 'applicant' }), 400, 'validation_failed', 'body/organization_id');
    assertProblem(t, await create({ role: 'lab' }), 400, 'validation_failed', 'body/organization_id');
    assertProblem(t, await create({ role: 'regulator', organization_id: f.applicantOrg.id }), 400, 'validation_failed', 'body/organization_id');
    assertProblem(t, await create({ role: 'admin', organization_id: f.applicantOrg.id }), 400, 'validation_failed', 'body/organization_id');
    assertProblem(t, await create({ role: 'lab', organization_id: f.applicantOrg.id }), 422, 'rule_violation');
    assertProblem(t, await create({ role: 'applicant', organization_id: lab.id }), 422, 'rule_violation');
    assertProblem(t, await create({ role: 'applicant', organization_id: '00000000-0000-4000-8000-000000000000' }), 422, 'rule_violation');
    assertProblem(t, await create({ role: 'system' }), 400, 'validation_failed', 'body/role');
    assertProblem(t, await create({ role: 'regulator', token: 'chosen-by-me-and-long-enough-0123456789' }), 400, 'validation_failed', 'body/token');
    t.equal(await countRows(ta, 'principals'), before, 'nothing stored');
    t.equal((await create({ role: 'lab', organization_id: lab.id })).statusCode, 201, 'a lab principal in a lab organization');
  });

  t.test('ADMIN_TOKEN bootstrap', async (t) => {
    t.test('the ADMIN_TOKEN is an admin, stored only as its hash', async (t) => {
      t.match((await me(ta.adminToken)).json(), { role: 'admin', organization_id: null });
      t.equal(await countRows(ta, 'principals', ['token_hash', sha256(ta.adminToken)]), 1);
      const plain = await ta.database.db.selectFrom('principals').select('id').where('token_hash', '=', ta.adminToken).executeTakeFirst();
      t.equal(plain, undefined);
    });

    t.test('a restart with the same ADMIN_TOKEN creates no second admin', async (t) => {
      const before = await countRows(ta, 'principals');
      const again = await buildTestApp(t, { database: ta.database, env: { ADMIN_TOKEN: ta.adminToken } });
      t.equal(await countRows(ta, 'principals'), before);
      t.equal((await again.req({ method: 'GET', url: '/v1/me', token: ta.adminToken })).json().role, 'admin');
    });

    t.test('a revoked ADMIN_TOKEN answers 401, and is restored at the next start', async (t) => {
      const token = `admin_${randomBytes(24).toString('hex')}`;
      const first = await buildTestApp(t, { database: ta.database, env: { ADMIN_TOKEN: token } });
      const id = (await first.req({ method: 'GET', url: '/v1/me', token })).json().id;
      t.equal((await first.req({ method: 'DELETE', url: `/v1/principals/${id}`, token: ta.adminToken })).statusCode, 204);
      assertProblem(t, await first.req({ method: 'GET', url: '/v1/me', token }), 401, 'unauthenticated');
      const restarted = await buildTestApp(t, { database: ta.database, env: { ADMIN_TOKEN: token } });
      const after = await restarted.req({ method: 'GET', url: '/v1/me', token });
      t.equal(after.statusCode, 200);
      t.match(after.json(), { id, role: 'admin' }, 'the same principal, updated');
    });

    t.test('a short ADMIN_TOKEN is a configuration error', async (t) => {
      t.throws(() => loadConfig({ ADMIN_TOKEN: 'short' }), /ADMIN_TOKEN must be at least 32 characters/);
    });

    t.test('without ADMIN_TOKEN, an empty database gets one admin whose token is printed once', async (t) => {
      const database = await openTestDatabase();
      t.teardown(() => database.close());
      const config = loadConfig({ LOG_LEVEL: 'silent', SCHEDULER_INTERVAL_MS: '0', SEQUENCER_INTERVAL_MS: '0', SIGNING_KEY_FILE: testSigningKeyFile() });
      const printed: string[] = [];
      const app1 = await buildApp({ config, database, logger: createLogger(config), onBootstrapToken: (tok) => printed.push(tok) });
      t.teardown(() => app1.close());
      t.equal(printed.length, 1, 'printed once');
      const token = printed[0]!;
      t.ok(token.length >= 43);
      const res = await app1.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      t.equal(res.json().role, 'admin');
      const rows = await database.db.selectFrom('principals').select(['role', 'token_hash']).execute();
      t.same(rows, [{ role: 'admin', token_hash: sha256(token) }], 'one admin, stored as a hash');
      const app2 = await buildApp({ config, database, logger: createLogger(config), onBootstrapToken: (tok) => printed.push(tok) });
      t.teardown(() => app2.close());
      t.equal(printed.length, 1, 'a second start prints nothing');
      t.equal((await database.db.selectFrom('principals').select('id').execute()).length, 1, 'and creates nothing');
    });
  });

  t.test('GET /v1/me names the caller', async (t) => {
    const res = await me(f.applicant.token);
    t.match(res.json(), { id: f.applicant.id, role: 'applicant', organization_id: f.applicantOrg.id });
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/me' }), 401, 'unauthenticated');
  });

  t.test('requests that find a principal uncached at once share one look-up; a revocation during it is not undone', async (t) => {
    const { authenticate, forgetPrincipals } = await import('../../src/registry/principals.js');
    const p = (await create({ role: 'applicant', organization_id: f.applicantOrg.id, name: 'burst' })).json();
    let reads = 0;
    // A handle of its own (its own cache) that counts the statements reading principals.
    const db = ta.database.db.withPlugin({
      transformQuery: (args) => {
        const node = args.node as { kind: string; from?: { froms: Array<{ table?: { identifier?: { name: string } } }> } };
        if (node.kind === 'SelectQueryNode' && node.from?.froms.some((f) => f.table?.identifier?.name === 'principals')) reads++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const answers = await Promise.all(Array.from({ length: 20 }, () => authenticate(db, p.token)));
    t.equal(reads, 1, '20 concurrent requests, one read');
    t.same([...new Set(answers.map((a) => a?.id))], [p.id]);
    await authenticate(db, p.token);
    t.equal(reads, 1, 'then cached');

    // Revoked (and forgotten) while a look-up is under way: requests after it do not join that look-up.
    forgetPrincipals(db);
    const early = authenticate(db, p.token);
    await revoke(p.id);
    forgetPrincipals(db);
    const late = await authenticate(db, p.token);
    t.equal(late, null, 'a look-up begun after the revocation sees it');
    await early;
    t.equal(await authenticate(db, p.token), null, 'and what the earlier look-up read was not cached');
  });
});
