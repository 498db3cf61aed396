import { buildTestApp, fixtures } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('a sandbox case runs from draft to exited', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const product = await f.product(f.applicant.token);
    const app = {
      product_id: product.id,
      scenarios: ['hospital triage'],
      test_scope: { regions: ['Shenzhen'], max_users: 100, duration_months: 6 },
      risks: [{ description: 'misdiagnosis', level: 'high' }],
      safeguards: ['clinician review'],
      contact: { name: 'Li Lei', email: 'li@example.cn' },
    };
    const created = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: f.applicant.token, payload: app });
    t.equal(created.statusCode, 201, created.body);
    const c = created.json();
    t.match(c.number, /^SBX-\d{4}-\d{6}$/);
    const fire = (token: string, type: string, payload?: unknown) =>
      ta.req({ method: 'POST', url: `/v1/sandbox-cases/${c.id}/events`, token, payload: payload === undefined ? { type } : { type, payload } });
    const now = ta.clock.now();
    const later = (days: number) => new Date(now.getTime() + days * 86400_000).toISOString();
    for (const [token, type, payload] of [
      [f.applicant.token, 'SUBMIT'],
      [f.regulator.token, 'START_REVIEW'],
      [f.regulator.token, 'ADMIT', { conditions: ['weekly reports'], testing_period: { start: later(1), end: later(100) } }],
      [f.applicant.token, 'START_TESTING'],
      [f.applicant.token, 'SUBMIT_REPORT', { period_start: later(1), period_end: later(30), summary: 'fine', metrics: { users: 10 } }],
      [f.applicant.token, 'REQUEST_EXIT'],
      [f.applicant.token, 'SUBMIT_EXIT_REPORT', { outcomes: 'o', lessons: 'l', compliance_statement: 'c' }],
      [f.regulator.token, 'CONCLUDE', { outcome: 'graduated' }],
    ] as Array<[string, string, unknown?]>) {
      if (type === 'SUBMIT_REPORT') ta.clock.advance(30 * 86400_000);
      const r = await fire(token, type, payload);
      t.equal(r.statusCode, 200, `${type}: ${r.body}`);
    }
    const got = await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${c.id}`, token: f.regulator.token });
    t.equal(got.json().state, 'exited');
    t.equal(got.headers.etag, '"9"');
    const hist = await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${c.id}/events`, token: f.applicant.token });
    t.equal(hist.json().items.length, 9);
    const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token });
    t.equal(v.json().ok, true, v.body);
    const reg = await ta.req({ method: 'GET', url: '/v1/register/sandbox' });
    t.ok(reg.json().items.some((i: any) => i.number === c.number));
  });
});
