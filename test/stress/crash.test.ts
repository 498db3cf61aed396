import t from 'tap';
import { randomBytes } from 'node:crypto';
import { openTestDatabase, testDatabaseUrl, makeCreditCode } from '../helpers/app.js';
import { call, freePort, startServer } from '../helpers/server.js';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 10);

t.test('SIGKILL under load loses no acknowledged event and leaves no half-written case', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL: the server runs as a separate process' }, async (t) => {
  const database = await openTestDatabase();
  t.teardown(() => database.close());
  const dbUrl = (database as any).url as string;
  const adminToken = randomBytes(32).toString('hex');
  const port = await freePort();
  const env = { DATABASE_URL: dbUrl, ADMIN_TOKEN: adminToken };
  let server = await startServer(env, { port });
  t.teardown(() => server.kill());

  const must = async (method: string, path: string, token: string, body?: unknown) => {
    const r = await call(server.url, method, path, token, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  };
  const org = await must('POST', '/v1/organizations', adminToken, { name: 'Crash Test Robotics', kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'ops@example.cn' });
  const applicant = await must('POST', '/v1/principals', adminToken, { role: 'applicant', organization_id: org.id });
  const regulator = await must('POST', '/v1/principals', adminToken, { role: 'regulator' });
  const product = await must('POST', '/v1/products', applicant.token, { name: 'Arm', version: '1', kind: 'robot', description: 'd', intended_use: 'u', domains: ['industry'], risk_level: 'high', robot: { payload_kg: 5, max_speed_mps: 1, operating_environment: 'factory', human_collaboration: true } });
  const cases: string[] = [];
  for (let i = 0; i < 8; i++) {
    const c = await must('POST', '/v1/sandbox-cases', applicant.token, {
      product_id: product.id,
      scenarios: ['assembly'],
      test_scope: { regions: ['Foshan'], max_users: 10, duration_months: 6 },
      risks: [{ description: 'pinch', level: 'high' }],
      safeguards: ['fence'],
      contact: { name: 'Wang', email: 'wang@example.cn' },
    });
    await must('POST', `/v1/sandbox-cases/${c.id}/events`, applicant.token, { type: 'SUBMIT' });
    await must('POST', `/v1/sandbox-cases/${c.id}/events`, regulator.token, { type: 'START_REVIEW' });
    const start = new Date(Date.now() - 1000).toISOString();
    const end = new Date(Date.now() + 100 * 86400_000).toISOString();
    await must('POST', `/v1/sandbox-cases/${c.id}/events`, regulator.token, { type: 'ADMIT', payload: { conditions: ['c'], testing_period: { start, end } } });
    await must('POST', `/v1/sandbox-cases/${c.id}/events`, applicant.token, { type: 'START_TESTING' });
    cases.push(c.id);
  }

  // A report covers a period of testing that has ended (SPEC 3.1): from when every case was testing to now.
  const testing = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 5));
  const acknowledged = new Map<string, string[]>(cases.map((id) => [id, []]));
  let sent = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let stop = false;
    const worker = async (w: number) => {
      while (!stop) {
        const id = cases[(w + sent) % cases.length]!;
        const summary = `r${round}-w${w}-${sent++}`;
        try {
          const r = await call(server.url, 'POST', `/v1/sandbox-cases/${id}/events`, applicant.token, {
            type: 'SUBMIT_REPORT',
            payload: { period_start: testing, period_end: new Date().toISOString(), summary },
          });
          if (r.status === 200) acknowledged.get(id)!.push(summary);
          else if (r.status >= 500) throw new Error(`5xx: ${r.text}`);
        } catch (err) {
          if (String(err).includes('5xx')) throw err;
          return; // connection refused or reset: the server is down
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
    await server.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    server = await startServer(env, { port });
  }

  /** A case's whole history, page by page (the record only counts the reports; they are events). */
  const wholeHistory = async (id: string) => {
    const items: any[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: any[]; next_cursor: string | null } = await must('GET', `/v1/sandbox-cases/${id}/events?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, regulator.token);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  };
  let total = 0;
  for (const id of cases) {
    const c = await must('GET', `/v1/sandbox-cases/${id}`, regulator.token);
    const history = await wholeHistory(id);
    const reports = history.filter((e: any) => e.type === 'SUBMIT_REPORT');
    const inHistory = new Set<string>(reports.map((e: any) => e.payload.summary));
    const missing = acknowledged.get(id)!.filter((s) => !inHistory.has(s));
    t.same(missing, [], `case ${id}: every acknowledged report is in the history`);
    t.equal(c.version, history.length, 'version = number of audit events');
    t.equal(inHistory.size, reports.length, 'each report in the history once');
    t.same(c.record.reports, { count: reports.length, latest_at: reports.at(-1)?.at ?? null }, 'the record counts exactly the reports in the history');
    total += acknowledged.get(id)!.length;
  }
  t.ok(total > ROUNDS * 5, `load was real: ${total} acknowledged events over ${ROUNDS} crashes`);
  const v = await must('GET', '/v1/audit/verify', regulator.token);
  t.equal(v.ok, true, JSON.stringify(v.failures));
});
