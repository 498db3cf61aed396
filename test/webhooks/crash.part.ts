import { randomBytes } from 'node:crypto';
import { openTestDatabase, testDatabaseUrl, makeCreditCode } from '../helpers/app.js';
import { call, freePort, startServer } from '../helpers/server.js';
import { receiver } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ROUNDS = 2;

  t.test('kill -9 with notifications undelivered or in flight: after restart every committed event arrives, none missing', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL: the server runs as a separate process' }, async (t) => {
    const database = await openTestDatabase();
    t.teardown(() => database.close());
    const adminToken = randomBytes(32).toString('hex');
    const port = await freePort();
    // A short lease: deliveries claimed by the killed process are sent again soon after the restart.
    const env = { DATABASE_URL: (database as any).url as string, ADMIN_TOKEN: adminToken, WEBHOOK_ALLOW_PRIVATE: 'true', DISPATCH_INTERVAL_MS: '20', DISPATCH_LEASE_MS: '1000' };
    let server = await startServer(env, { port, timeoutMs: 90_000 });
    t.teardown(() => server.kill());
    const must = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await call(server.url, method, path, token, body);
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
      return r.json;
    };
    const r = await receiver(t);
    // A slow receiver: deliveries are in flight when the process dies.
    r.state.delayMs = 30;

    const org = await must('POST', '/v1/organizations', adminToken, { name: 'Crash Webhooks Ltd', kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'ops@example.cn' });
    const applicant = await must('POST', '/v1/principals', adminToken, { role: 'applicant', organization_id: org.id });
    const hook = await must('POST', '/v1/webhooks', applicant.token, { url: r.url, events: ['sandbox-cases.*'] });
    r.state.secret = () => hook.secret;
    const product = await must('POST', '/v1/products', applicant.token, { name: 'Triage', version: '1', kind: 'ai_system', description: 'd', intended_use: 'u', domains: ['healthcare'], risk_level: 'high' });
    const cases = new Set<string>();
    const application = { product_id: product.id, scenarios: ['triage'], test_scope: { regions: ['Foshan'], max_users: 10, duration_months: 6 }, risks: [{ description: 'r', level: 'high' }], safeguards: ['s'], contact: { name: 'Wang', email: 'wang@example.cn' } };
    for (let round = 0; round < ROUNDS; round++) {
      let stop = false;
      const worker = async () => {
        while (!stop) {
          try {
            const c = await call(server.url, 'POST', '/v1/sandbox-cases', applicant.token, application);
            if (c.status !== 201) return;
            cases.add(c.json.id);
            await call(server.url, 'POST', `/v1/sandbox-cases/${c.json.id}/events`, applicant.token, { type: 'SUBMIT' });
          } catch {
            return; // the server is down
          }
        }
      };
      const workers = Array.from({ length: 3 }, () => worker());
      await new Promise((res) => setTimeout(res, 200 + Math.random() * 400));
      await server.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      server = await startServer(env, { port, timeoutMs: 90_000 });
    }

    // Every event the database holds (committed, whether or not its answer got out): the cases too.
    const listed = await must('GET', '/v1/sandbox-cases?limit=200', applicant.token);
    for (const c of listed.items) cases.add(c.id);
    const committed = new Set<string>();
    for (const id of cases) {
      const h = await must('GET', `/v1/sandbox-cases/${id}/events?limit=200`, applicant.token);
      for (const e of h.items) committed.add(`${id}:${e.type}:${e.at}`);
    }
    const arrived = () => new Set(r.got.map((g) => `${g.json.data.case_id}:${g.json.data.event}:${g.json.data.at}`));
    const pending = async () => (await call(server.url, 'GET', `/v1/webhooks/${hook.id}/deliveries?status=pending`, applicant.token)).json.items as unknown[];
    // Sent, then recorded as delivered: both are waited for.
    const deadline = Date.now() + 60_000;
    while (([...committed].some((k) => !arrived().has(k)) || (await pending()).length > 0) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    const missing = [...committed].filter((k) => !arrived().has(k));
    t.same(missing, [], `every one of ${committed.size} committed events arrived`);
    t.ok(committed.size >= 4, `${committed.size} events over ${ROUNDS} kills`);
    const extra = [...arrived()].filter((k) => !committed.has(k));
    t.same(extra, [], 'nothing arrived that did not commit');
    const ids = new Set(r.got.map((g) => g.id));
    t.equal(ids.size, committed.size, 'one webhook-id per event (repeats of one id are allowed, none is missing)');
    t.same(await pending(), [], 'none is left pending');
    t.same(r.invalid, []);
  });
});
