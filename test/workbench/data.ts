// Cases for workbench tests, made through the API as integrators make them.
import type { TestApp } from '../helpers/app.js';

export const sandboxApplication = (productId: string) => ({
  product_id: productId,
  scenarios: ['Night patrol of a substation'],
  test_scope: { regions: ['Shenzhen Qianhai'], max_users: 50, duration_months: 12 },
  risks: [{ description: 'Collision with staff', level: 'medium' }],
  safeguards: ['Speed limited near people'],
  contact: { name: 'Li Wei', email: 'li.wei@example.cn' },
});

export function caseApi(ta: TestApp) {
  const ok = (r: Awaited<ReturnType<TestApp['req']>>, status: number) => {
    if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
    return r.json();
  };
  return {
    async sandboxCase(token: string, productId: string) {
      return ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token, payload: sandboxApplication(productId) }), 201);
    },
    async fire(kind: string, id: string, token: string, type: string, payload?: unknown) {
      return ok(await ta.req({ method: 'POST', url: `/v1/${kind}/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } }), 200).case;
    },
    async get(kind: string, id: string, token: string) {
      return ok(await ta.req({ method: 'GET', url: `/v1/${kind}/${id}`, token }), 200);
    },
  };
}
