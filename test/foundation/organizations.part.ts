import { sql } from '../../src/db/kysely.js';
import { buildTestApp, fixtures, makeCreditCode, openSameDatabase, uniq } from '../helpers/app.js';
import { assertProblem, auditTypes, countRows } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const regulator = f.regulator.token as string;

  const create = (over: Record<string, unknown>, token = ta.adminToken) =>
    ta.req({ method: 'POST', url: '/v1/organizations', token, payload: { name: `Org ${uniq()}`, kind: 'enterprise', contact_email: 'office@example.hk', ...over } });
  const stored = (name: string) => ta.database.db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst();

  t.test('a Hong Kong organization gives a Companies Registry or Business Registration number', async (t) => {
    for (const registration_number of ['1234567', '76543210', '12345678-000-03-24-A']) {
      const res = await create({ region: 'hong_kong', registration_number, name_en: 'HK Robotics Ltd' });
      t.equal(res.statusCode, 201, res.body);
      t.match(res.json(), { region: 'hong_kong', registration_number, credit_code: null });
      t.equal(res.headers.location, `/v1/organizations/${res.json().id}`);
    }
  });

  t.test('a Hong Kong organization without a registration number is refused and not stored', async (t) => {
    const name = `HK ${uniq()}`;
    assertProblem(t, await create({ name, region: 'hong_kong' }), 400, 'validation_failed', 'body/registration_number');
    t.equal(await stored(name), undefined);
  });

  t.test('a Hong Kong registration number in another format is refused', async (t) => {
    for (const registration_number of ['HK123', '123456', '123456789', '12345678-000-03-24', 'ABCDEFG']) {
      const name = `HK ${uniq()}`;
      assertProblem(t, await create({ name, region: 'hong_kong', registration_number }), 400, 'validation_failed', 'body/registration_number');
      t.equal(await stored(name), undefined, `${registration_number} not stored`);
    }
  });

  t.test('a Macao organization gives its commercial registration number', async (t) => {
    t.equal((await create({ region: 'macao', registration_number: '12345 (SO)' })).statusCode, 201);
    assertProblem(t, await create({ region: 'macao' }), 400, 'validation_failed', 'body/registration_number');
    assertProblem(t, await create({ region: 'macao', registration_number: 'MO-ABC' }), 400, 'validation_failed', 'body/registration_number');
  });

  t.test('an overseas organization gives a registration number in its own format', async (t) => {
    const res = await create({ region: 'overseas', registration_number: 'HRB 12345 B' });
    t.equal(res.statusCode, 201, res.body);
    assertProblem(t, await create({ region: 'overseas' }), 400, 'validation_failed', 'body/registration_number');
    assertProblem(t, await create({ region: 'overseas', registration_number: ' leading space' }), 400, 'validation_failed', 'body/registration_number');
  });

  t.test('a mainland organization must give a credit code; a registration number is no substitute', async (t) => {
    for (const region of ['guangdong', 'mainland_other']) {
      const name = `CN ${uniq()}`;
      assertProblem(t, await create({ name, region, registration_number: '440301123456789' }), 400, 'validation_failed', 'body/credit_code');
      t.equal(await stored(name), undefined);
    }
  });

  t.test('an organization is stored with every field and one ORGANIZATION_CREATED audit event', async (t) => {
    const code = makeCreditCode();
    const before = (await auditTypes(ta, 'ORGANIZATION_CREATED')).length;
    const res = await create({ name: '深圳示例人工智能有限公司', name_en: 'Shenzhen Example AI Co., Ltd.', kind: 'research_institute', region: 'guangdong', credit_code: code }, regulator);
    t.equal(res.statusCode, 201, res.body);
    const body = res.json();
    t.match(body, { name: '深圳示例人工智能有限公司', name_en: 'Shenzhen Example AI Co., Ltd.', kind: 'research_institute', region: 'guangdong', credit_code: code, registration_number: null, accreditation: null });
    t.match(body.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const got = await ta.req({ method: 'GET', url: `/v1/organizations/${body.id}`, token: regulator });
    t.same(got.json(), body, 'GET answers what POST answered');
    const audit = await auditTypes(ta, 'ORGANIZATION_CREATED');
    t.equal(audit.length, before + 1);
    t.equal(audit.at(-1)!.payload.organization_id, body.id);
  });

  t.test('a duplicate credit code answers 409 and stores nothing', async (t) => {
    const code = makeCreditCode();
    t.equal((await create({ region: 'guangdong', credit_code: code })).statusCode, 201);
    const before = await countRows(ta, 'organizations');
    const dup = await create({ region: 'mainland_other', credit_code: code }, regulator);
    assertProblem(t, dup, 409, 'conflict', 'body/credit_code');
    t.equal(await countRows(ta, 'organizations'), before);
    t.equal(await countRows(ta, 'organizations', ['credit_code', code]), 1);
  });

  t.test('concurrent registrations of one credit code: one 201, the rest 409, never a 500', async (t) => {
    const code = makeCreditCode();
    const send = () => Promise.all(Array.from({ length: 6 }, () => create({ region: 'guangdong', credit_code: code })));
    let answers: Awaited<ReturnType<typeof send>>;
    if ((ta.database as { url?: string }).url) {
      // On PostgreSQL, make the race certain: hold the registry audit head so that every request has
      // checked for a duplicate and inserted its row before the first one can commit.
      const other = await openSameDatabase(ta.database);
      t.teardown(() => other.close());
      let pending!: ReturnType<typeof send>;
      await other.db.transaction().execute(async (trx) => {
        await sql`select 1 from audit_heads where chain_id = 'registry' for update`.execute(trx);
        pending = send();
        for (let i = 0; i < 100; i++) {
          const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(other.db);
          if (waiting.rows[0]!.n >= 6) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      answers = await pending;
    } else {
      answers = await send();
    }
    const statuses = answers.map((r) => r.statusCode).sort();
    t.same(statuses, [201, 409, 409, 409, 409, 409], answers.map((r) => r.body.slice(0, 120)).join('\n'));
    for (const r of answers.filter((r) => r.statusCode !== 201)) assertProblem(t, r, 409, 'conflict', 'body/credit_code');
    t.equal(await countRows(ta, 'organizations', ['credit_code', code]), 1);
  });

  t.test('unknown fields are refused, each named', async (t) => {
    const name = `Extra ${uniq()}`;
    const res = await create({ name, region: 'guangdong', credit_code: makeCreditCode(), website: 'https://example.cn', accreditation: { accreditation_number: 'X' } });
    const p = assertProblem(t, res, 400, 'validation_failed', 'body/website');
    t.ok(p.errors!.some((e) => e.path === 'body/accreditation'), 'accreditation cannot be set at creation');
    t.equal(await stored(name), undefined);
  });

  t.test('enum and e-mail fields are checked', async (t) => {
    assertProblem(t, await create({ region: 'guangdong', credit_code: makeCreditCode(), kind: 'company' }), 400, 'validation_failed', 'body/kind');
    assertProblem(t, await create({ region: 'atlantis', registration_number: '1' }), 400, 'validation_failed', 'body/region');
    assertProblem(t, await create({ region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'not an email' }), 400, 'validation_failed', 'body/contact_email');
    assertProblem(t, await create({ region: 'guangdong', credit_code: makeCreditCode(), name: '   ' }), 400, 'validation_failed', 'body/name');
  });

  t.test('accreditation', async (t) => {
    const lab = (await create({ kind: 'lab', region: 'guangdong', credit_code: makeCreditCode(), name: `Lab ${uniq()}` })).json();
    const put = (id: string, payload: unknown, token = regulator) => ta.req({ method: 'PUT', url: `/v1/organizations/${id}/accreditation`, token, payload: payload as never });
    const accreditationOf = async (id: string) => (await ta.database.db.selectFrom('organizations').select('accreditation').where('id', '=', id).executeTakeFirstOrThrow()).accreditation;
    const good = { accreditation_number: 'CNAS L12345', schemes: ['ai-safety-risk', 'robot-safety'], valid_until: '2029-12-31T00:00:00+08:00' };

    t.test('the regulator accredits a lab: stored, answered and audited', async (t) => {
      const before = (await auditTypes(ta, 'ACCREDITATION_SET')).length;
      const res = await put(lab.id, good);
      t.equal(res.statusCode, 200, res.body);
      t.match(res.json().accreditation, { accreditation_number: 'CNAS L12345', schemes: ['ai-safety-risk', 'robot-safety'], valid_until: '2029-12-30T16:00:00.000Z' });
      t.match(await accreditationOf(lab.id), { accreditation_number: 'CNAS L12345' });
      t.equal((await auditTypes(ta, 'ACCREDITATION_SET')).length, before + 1);
      const replaced = await put(lab.id, { ...good, schemes: ['ai-ethics'] });
      t.same(replaced.json().accreditation.schemes, ['ai-ethics'], 'a second PUT replaces the accreditation');
    });

    t.test('only an organization of kind lab can be accredited (422), and nothing is stored', async (t) => {
      const before = (await auditTypes(ta, 'ACCREDITATION_SET')).length;
      const p = assertProblem(t, await put(f.applicantOrg.id, good), 422, 'rule_violation');
      t.match(p.detail, /lab/);
      t.equal(await accreditationOf(f.applicantOrg.id), null);
      t.equal((await auditTypes(ta, 'ACCREDITATION_SET')).length, before);
    });

    t.test('an unknown scheme code answers 422 naming the scheme, and nothing changes', async (t) => {
      const current = await accreditationOf(lab.id);
      const res = await put(lab.id, { ...good, schemes: ['ai-ethics', 'no-such-scheme'] });
      const p = assertProblem(t, res, 422, 'rule_violation', 'body/schemes/1');
      t.match(p.detail, /no-such-scheme/);
      t.same(await accreditationOf(lab.id), current);
    });

    t.test('only the regulator accredits: admin, applicant and lab get 403', async (t) => {
      const labToken = (await f.principal('lab', lab.id)).token;
      for (const token of [ta.adminToken, f.applicant.token, labToken]) assertProblem(t, await put(lab.id, good, token), 403, 'forbidden');
      const current = await accreditationOf(lab.id);
      t.same((current as { schemes: string[] }).schemes, ['ai-ethics'], 'unchanged');
    });

    t.test('an unknown organization answers 404; a malformed id 400', async (t) => {
      assertProblem(t, await put('00000000-0000-4000-8000-000000000000', good), 404, 'not_found');
      assertProblem(t, await put('not-a-uuid', good), 400, 'validation_failed', 'path/id');
    });

    t.test('the body is checked: schemes listed, dates RFC 3339, no unknown fields', async (t) => {
      assertProblem(t, await put(lab.id, { ...good, schemes: [] }), 400, 'validation_failed', 'body/schemes');
      assertProblem(t, await put(lab.id, { ...good, schemes: ['ai-ethics', 'ai-ethics'] }), 400, 'validation_failed', 'body/schemes');
      assertProblem(t, await put(lab.id, { ...good, valid_until: '31/12/2029' }), 400, 'validation_failed', 'body/valid_until');
      assertProblem(t, await put(lab.id, { ...good, valid_until: '2029-02-30T00:00:00Z' }), 400, 'validation_failed', 'body/valid_until');
      assertProblem(t, await put(lab.id, { ...good, scope: 'everything' }), 400, 'validation_failed', 'body/scope');
      assertProblem(t, await put(lab.id, { schemes: ['ai-ethics'] }), 400, 'validation_failed', 'body/accreditation_number');
    });

    t.test('a leap second, which JavaScript dates cannot hold, is a 400 and not a 500', async (t) => {
      assertProblem(t, await put(lab.id, { ...good, valid_until: '2030-06-30T23:59:60Z' }), 400, 'validation_failed', 'body/valid_until');
    });
  });
});
