import { fixtures, type TestApp } from '../helpers/app.js';

export const day = 86_400_000;

export function sandboxApplication(productId: string, over: Record<string, unknown> = {}) {
  return {
    product_id: productId,
    scenarios: ['hospital triage support'],
    test_scope: { regions: ['Shenzhen Qianhai'], max_users: 500, duration_months: 6 },
    risks: [{ description: 'wrong triage priority', level: 'high' }],
    safeguards: ['a clinician confirms every priority'],
    contact: { name: 'Li Lei', email: 'li.lei@example.cn' },
    ...over,
  };
}

/** A sandbox cast: fixtures plus a product and helpers to create and move cases. */
export async function sandboxCast(ta: TestApp) {
  const f = await fixtures(ta);
  const product = await f.product(f.applicant.token);
  const iso = (offsetMs: number) => new Date(ta.clock.now().getTime() + offsetMs).toISOString();
  const create = async (token = f.applicant.token, application = sandboxApplication(product.id)) => {
    const r = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token, payload: application });
    if (r.statusCode !== 201) throw new Error(`create: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const fire = (id: string, token: string, type: string, payload?: unknown, headers: Record<string, string> = {}) =>
    ta.req({ method: 'POST', url: `/v1/sandbox-cases/${id}/events`, token, headers, payload: payload === undefined ? { type } : { type, payload } });
  const must = async (id: string, token: string, type: string, payload?: unknown) => {
    const r = await fire(id, token, type, payload);
    if (r.statusCode !== 200) throw new Error(`${type}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const admitPayload = () => ({ conditions: ['monthly reports'], testing_period: { start: iso(day), end: iso(180 * day) } });
  /** Moves a fresh case to the given state along the usual path. */
  const caseIn = async (state: string) => {
    const c = await create();
    const A = f.applicant.token;
    const R = f.regulator.token;
    const path: Record<string, Array<[string, string, unknown?]>> = {
      draft: [],
      submitted: [[A, 'SUBMIT']],
      under_review: [[A, 'SUBMIT'], [R, 'START_REVIEW']],
      info_requested: [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'REQUEST_INFO', { questions: ['Which hospitals?'], respond_by: iso(14 * day) }]],
      admitted: [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'ADMIT', admitPayload()]],
      testing: [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'ADMIT', admitPayload()], [A, 'START_TESTING']],
      suspended: [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'ADMIT', admitPayload()], [A, 'START_TESTING'], [R, 'SUSPEND', { reason: 'breach of conditions' }]],
      exit_review: [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'ADMIT', admitPayload()], [A, 'START_TESTING'], [A, 'REQUEST_EXIT']],
    };
    for (const [token, type, payload] of path[state]!) await must(c.id, token, type, payload);
    return c as { id: string; number: string };
  };
  /** A case's whole history, oldest first, page by page (what accumulates in a case is read here, not from its record). */
  const history = async (id: string) => {
    const items: any[] = [];
    let cursor: string | null = null;
    do {
      const url = `/v1/sandbox-cases/${id}/events?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await ta.req({ method: 'GET', url, token: f.regulator.token });
      if (r.statusCode !== 200) throw new Error(`history: ${r.statusCode} ${r.body}`);
      const page = r.json() as { items: any[]; next_cursor: string | null };
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  };
  const get = async (id: string) => (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${id}`, token: f.regulator.token })).json();
  return { ...f, makeProduct: f.product, product, iso, create, fire, must, caseIn, history, get, admitPayload };
}
