import { sql } from '../../src/db/kysely.js';
import { buildTestApp, fixtures } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('registry changes are one hash-chained audit event each', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const lab = await f.org({ kind: 'lab' });
    const put = await ta.req({
      method: 'PUT',
      url: `/v1/organizations/${lab.id}/accreditation`,
      token: f.regulator.token,
      payload: { accreditation_number: 'CNAS L0001', schemes: ['robot-safety'], valid_until: '2030-01-01T00:00:00Z' },
    });
    t.equal(put.statusCode, 200);
    const product = await f.product(f.applicant.token);
    const doomed = await f.principal('regulator');
    t.equal((await ta.req({ method: 'DELETE', url: `/v1/principals/${doomed.id}`, token: ta.adminToken })).statusCode, 204);

    const rows = await ta.app.db.selectFrom('audit_events').selectAll().where('chain_id', '=', 'registry').orderBy('seq').execute();
    const types = rows.map((r) => r.type);
    for (const type of ['ORGANIZATION_CREATED', 'PRINCIPAL_CREATED', 'ACCREDITATION_SET', 'PRODUCT_CREATED', 'PRINCIPAL_REVOKED']) t.ok(types.includes(type), type);
    const productEvent = rows.find((r) => r.type === 'PRODUCT_CREATED')!;
    t.equal((productEvent.payload as any).product_id, product.id);
    t.equal(productEvent.actor_principal_id, f.applicant.id);
    t.same(rows.map((r) => r.seq), rows.map((_, i) => i + 1), 'one chain, no gaps');
    for (let i = 1; i < rows.length; i++) t.equal(rows[i]!.prev_hash, rows[i - 1]!.hash);

    const ok = (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token })).json();
    t.equal(ok.ok, true);

    await ta.app.db.transaction().execute(async (trx) => {
      await sql`alter table audit_events disable trigger audit_events_append_only`.execute(trx);
      await sql`update audit_events set payload = jsonb_set(payload, '{name}', '"Forged"') where id = ${productEvent.id}`.execute(trx);
      await sql`alter table audit_events enable trigger audit_events_append_only`.execute(trx);
    });
    const bad = (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token })).json();
    t.equal(bad.ok, false);
    t.same(bad.failures, [{ case_id: null, seq: productEvent.seq, reason: 'registry chain: hash does not match the event content' }]);
  });
});
