import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // Schemes are data (GET /v1/schemes), not schema: an unknown one is the same refusal on every route.
  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);

  t.test('PUT …/accreditation with an unknown scheme: 422 rule_violation naming body/schemes/<i>, nothing stored', async (t) => {
    const lab = await c.lab(['ai-ethics']);
    const before = c.ok(await ta.req({ method: 'GET', url: `/v1/organizations/${lab.org.id}`, token: c.regulator.token })).accreditation;
    const r = await ta.req({
      method: 'PUT',
      url: `/v1/organizations/${lab.org.id}/accreditation`,
      token: c.regulator.token,
      payload: { accreditation_number: 'CNAS L0001', schemes: ['robot-safety', 'quantum-safety'], valid_until: '2030-01-01T00:00:00Z' },
    });
    t.equal(r.statusCode, 422, r.body);
    t.match(r.json(), { code: 'rule_violation', rule: 'known_scheme', detail: /no certification scheme quantum-safety/ });
    t.same(r.json().errors.map((e: any) => e.path), ['body/schemes/1']);
    t.same(c.ok(await ta.req({ method: 'GET', url: `/v1/organizations/${lab.org.id}`, token: c.regulator.token })).accreditation, before, 'unchanged');
  });

  t.test('POST /v1/certification-cases with an unknown scheme: 422 rule_violation naming body/scheme, nothing stored', async (t) => {
    const product = await c.robot();
    const list = async () => c.ok(await ta.req({ method: 'GET', url: '/v1/certification-cases', token: c.applicant.token })).items.length;
    const before = await list();
    const r = await ta.req({ method: 'POST', url: '/v1/certification-cases', token: c.applicant.token, payload: { product_id: product.id, scheme: 'quantum-safety', declared_scope: 'x' } });
    t.equal(r.statusCode, 422, r.body);
    t.match(r.json(), { code: 'rule_violation', rule: 'known_scheme', detail: /no certification scheme quantum-safety/ });
    t.same(r.json().errors.map((e: any) => e.path), ['body/scheme']);
    t.equal(await list(), before, 'no case was created');

    const draft = await c.createCase(product, 'robot-safety');
    const patched = await ta.req({ method: 'PATCH', url: `/v1/certification-cases/${draft.id}`, token: c.applicant.token, payload: { product_id: product.id, scheme: 'quantum-safety', declared_scope: 'x' } });
    t.equal(patched.statusCode, 422, patched.body);
    t.same(patched.json().errors.map((e: any) => e.path), ['body/scheme'], 'the draft edit names it the same way');
  });
});
