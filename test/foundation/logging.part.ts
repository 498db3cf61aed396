import { randomBytes } from 'node:crypto';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { makeCreditCode, openTestDatabase, testSigningKeyFile } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const lines: string[] = [];
  const destination = { write: (s: string) => void lines.push(s) };
  const adminToken = `admin_${randomBytes(24).toString('hex')}`;
  const config = loadConfig({ ADMIN_TOKEN: adminToken, LOG_LEVEL: 'trace', SCHEDULER_INTERVAL_MS: '0', RATE_LIMIT_MAX: '1000000', SIGNING_KEY_FILE: testSigningKeyFile(), SEQUENCER_INTERVAL_MS: '0' });
  const database = await openTestDatabase();
  const app = await buildApp({ config, database, logger: createLogger(config, destination) });
  t.teardown(async () => {
    await app.close();
    await database.close();
  });
  const inject = (o: { method: 'GET' | 'POST'; url: string; authorization?: string; payload?: unknown; headers?: Record<string, string> }) =>
    app.inject({ method: o.method, url: o.url, payload: o.payload as never, headers: { ...(o.authorization ? { authorization: o.authorization } : {}), ...o.headers } });

  const unknownToken = `gdai_${randomBytes(32).toString('base64url')}`;
  const malformed = `Token ${randomBytes(20).toString('hex')}`;
  const secrets: string[] = [adminToken, unknownToken, malformed];

  t.test('requests that carry tokens are logged, with their request id, and no token or Authorization header is', async (t) => {
    await inject({ method: 'GET', url: '/v1/me', authorization: `Bearer ${adminToken}`, headers: { 'x-request-id': 'log-me-1' } });
    const org = await inject({
      method: 'POST',
      url: '/v1/organizations',
      authorization: `Bearer ${adminToken}`,
      headers: { 'idempotency-key': 'log-key-1' },
      payload: { name: 'Logged Ltd', kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'l@example.cn' },
    });
    t.equal(org.statusCode, 201);
    const created = await inject({ method: 'POST', url: '/v1/principals', authorization: `Bearer ${adminToken}`, payload: { role: 'applicant', organization_id: org.json().id } });
    t.equal(created.statusCode, 201);
    secrets.push(created.json().token);
    await inject({ method: 'GET', url: '/v1/products', authorization: `Bearer ${created.json().token}` });
    await inject({ method: 'GET', url: '/v1/products', authorization: `Bearer ${unknownToken}`, headers: { 'x-request-id': 'log-unknown-1' } });
    await inject({ method: 'GET', url: '/v1/products', authorization: malformed });
    await inject({ method: 'POST', url: '/v1/products', authorization: `Bearer ${created.json().token}`, payload: '{not json', headers: { 'content-type': 'application/json' } });
    // a forged cursor is refused before it reaches the database
    const forged = await inject({ method: 'GET', url: `/v1/products?cursor=${Buffer.from(JSON.stringify(['2026-01-01T00:00:00Z', '-'.repeat(36)])).toString('base64url')}`, authorization: `Bearer ${created.json().token}` });

    const log = lines.join('');
    t.ok(lines.length >= 8, `${lines.length} log lines written`);
    for (const s of secrets) t.notOk(log.includes(s), `the log never holds ${s.slice(0, 8)}…`);
    t.notOk(log.includes(adminToken.slice(6, 30)), 'not even part of a token');
    t.notMatch(log, /Bearer /, 'no Authorization header value');
    t.notMatch(log, /"authorization":"(?!\[redacted\])/i, 'an authorization field, if any, is redacted');

    const parsed = lines.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; level: number; req?: { method: string; url: string }; res?: { statusCode: number }; responseTime?: number });
    const requestLines = parsed.filter((l) => l.msg === 'request completed');
    t.equal(requestLines.length, 8, 'each of the 8 requests is logged once, when it completes');
    t.equal(new Set(requestLines.map((l) => l.reqId)).size, 8, 'one line per request id');
    t.notOk(parsed.some((l) => l.msg === 'incoming request'), 'no separate line on arrival');
    t.ok(requestLines.every((l) => typeof l.reqId === 'string' && l.reqId.length > 0), 'every request line carries a request id');
    t.ok(requestLines.every((l) => typeof l.req?.method === 'string' && l.req.url.startsWith('/v1/') && typeof l.res?.statusCode === 'number' && typeof l.responseTime === 'number'), 'with method, URL, status and time');
    t.same(requestLines.find((l) => l.reqId === 'log-unknown-1')?.res, { statusCode: 401 }, 'the refused request with its status');
    t.ok(parsed.some((l) => l.reqId === 'log-me-1'), 'a given x-request-id is the logged request id');
    t.ok(parsed.some((l) => l.reqId === 'log-unknown-1' && l.msg === 'request completed'), 'a refused request is logged too');
    t.equal(forged.statusCode, 400, 'a forged cursor is a 400');
    t.notOk(parsed.some((l) => l.level >= 50), 'nothing logged as an error');
    t.notOk(parsed.some((l) => l.level >= 50), 'no error-level line for bad input');
  });

  t.test('the logger redacts credentials even when a caller logs headers', async (t) => {
    const out: string[] = [];
    const logger = createLogger({ logLevel: 'info' }, { write: (s: string) => void out.push(s) });
    logger.info({ req: { headers: { authorization: `Bearer ${adminToken}`, 'idempotency-key': 'k-1', cookie: 'wb_session=s3cr3t-session; wb_csrf=c' } }, headers: { authorization: 'Bearer x', cookie: 'wb_session=s3cr3t-2' }, authorization: 'Bearer y', token: adminToken, principal: { token: adminToken } }, 'headers');
    const text = out.join('');
    t.notOk(text.includes(adminToken), 'no token');
    t.notMatch(text, /Bearer/);
    const line = JSON.parse(text);
    t.equal(line.req.headers.authorization, '[redacted]');
    t.equal(line.headers.authorization, '[redacted]');
    t.equal(line.authorization, '[redacted]');
    t.equal(line.token, '[redacted]');
    t.equal(line.principal.token, '[redacted]');
    t.equal(line.req.headers['idempotency-key'], '[redacted]');
    t.equal(line.req.headers.cookie, '[redacted]', 'a workbench session cookie neither');
    t.equal(line.headers.cookie, '[redacted]');
    t.notOk(text.includes('s3cr3t'));
  });
});
