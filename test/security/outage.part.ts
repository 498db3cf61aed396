// A database outage is a 503 `unavailable` with Retry-After (SPEC §2), not a 500: on every route
// that needs the database, the token look-up of the rate limiter and of auth included, while
// /health/live still answers 200. On PostgreSQL the service reaches the database through a TCP
// proxy that this test stops (connections refused, open ones cut) and starts again; on the
// embedded database its handle is closed.
import net from 'node:net';
import type { Test } from 'tap';
import { openDatabase, type Database } from '../../src/db/index.js';
import { buildTestApp, fixtures, openTestDatabase, type TestApp } from '../helpers/app.js';
import { assertProblem } from '../foundation/support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  /** A TCP proxy to PostgreSQL that can be cut (refusing and dropping connections) and restored. */
  async function proxyTo(url: URL) {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(url.port || 5432), url.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    await listen(0);
    const port = (server.address() as net.AddressInfo).port;
    return {
      port,
      cut: async () => {
        const closed = new Promise((resolve) => server.close(resolve));
        for (const s of sockets) s.destroy();
        await closed;
      },
      restore: () => listen(port),
      close: async () => {
        for (const s of sockets) s.destroy();
        if (server.listening) await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  type Tap = { teardown(fn: () => unknown): void };
  type Outage = { ta: TestApp; cut(): Promise<void>; restore?: () => Promise<void> };

  async function appWithBreakableDatabase(t: Tap): Promise<Outage> {
    const underlying = await openTestDatabase();
    t.teardown(() => underlying.close());
    if (!underlying.url) {
      const ta = await buildTestApp(t, { database: underlying });
      return { ta, cut: () => underlying.close() };
    }
    const url = new URL(underlying.url);
    const proxy = await proxyTo(url);
    t.teardown(() => proxy.close());
    const proxied = new URL(underlying.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const database: Database = await openDatabase({ databaseUrl: proxied.toString(), dataDir: '', poolSize: 4 });
    // Registered before buildTestApp's teardown, so it runs after the app has closed.
    t.teardown(() => database.close());
    const ta = await buildTestApp(t, { database });
    return { ta, cut: proxy.cut, restore: proxy.restore };
  }

  const { ta, cut, restore } = await appWithBreakableDatabase(t);
  const f = await fixtures(ta);
  // Made but never used: its first look-up (by the rate limiter) happens during the outage.
  const fresh = f.applicant.token as string;
  const used = f.regulator.token as string;
  t.equal((await ta.req({ method: 'GET', url: '/v1/organizations', token: used })).statusCode, 200, 'served before the outage');
  await cut();

  const unavailable = (t: Test, res: Awaited<ReturnType<TestApp['req']>>, what: string) => {
    assertProblem(t, res, 503, 'unavailable');
    const retry = Number(res.headers['retry-after']);
    t.ok(Number.isInteger(retry) && retry > 0, `${what}: Retry-After is a number of seconds (${res.headers['retry-after']})`);
  };

  t.test('a request with a token the service has not seen yet: 503, not 500 from the look-up', async (t) => {
    unavailable(t, await ta.req({ method: 'GET', url: '/v1/organizations', token: fresh }), 'a fresh token');
    unavailable(t, await ta.req({ method: 'GET', url: '/v1/me', token: fresh }), '/v1/me');
  });

  t.test('an authenticated read and a write: 503', async (t) => {
    unavailable(t, await ta.req({ method: 'GET', url: '/v1/organizations', token: used }), 'a read');
    const write = await ta.req({
      method: 'POST',
      url: '/v1/products',
      token: fresh,
      payload: { name: 'p', version: '1', kind: 'ai_system', description: 'd', intended_use: 'u', domains: ['other'], risk_level: 'low' },
    });
    unavailable(t, write, 'a write');
  });

  t.test('the public register: 503, with or without a token it does not need', async (t) => {
    unavailable(t, await ta.req({ method: 'GET', url: '/v1/register/sandbox' }), 'the register');
    unavailable(t, await ta.req({ method: 'GET', url: '/v1/register/certificates', token: fresh }), 'the register with a token');
    const workflows = await ta.req({ method: 'GET', url: '/v1/workflows', token: fresh });
    t.equal(workflows.statusCode, 200, 'a public route that needs no database still answers, token or not');
  });

  t.test('a register page: a 503 page in the reader\'s language with Retry-After, not a 500', async (t) => {
    for (const [lang, title] of [['en', 'Temporarily unavailable'], ['zh-Hans', '暂时无法访问']]) {
      const r = await ta.req({ method: 'GET', url: `/register?lang=${lang}` });
      t.equal(r.statusCode, 503, lang);
      t.match(r.headers['content-type'], /^text\/html/);
      t.ok(Number(r.headers['retry-after']) > 0, 'Retry-After');
      t.match(r.body, title);
    }
  });

  t.test('/health/ready is 503 with Retry-After; /health/live stays 200', async (t) => {
    unavailable(t, await ta.req({ method: 'GET', url: '/health/ready' }), '/health/ready');
    unavailable(t, await ta.req({ method: 'GET', url: '/health/ready', token: fresh }), '/health/ready with a token');
    t.equal((await ta.req({ method: 'GET', url: '/health/live' })).statusCode, 200);
    t.equal((await ta.req({ method: 'GET', url: '/health/live', token: fresh })).statusCode, 200, 'a token changes nothing');
  });

  t.test('once the database is back, the same requests are served', { skip: restore ? false : 'the embedded database, once closed, cannot be reopened under the same app' }, async (t) => {
    await restore!();
    t.equal((await ta.req({ method: 'GET', url: '/health/ready' })).statusCode, 200);
    t.equal((await ta.req({ method: 'GET', url: '/v1/organizations', token: fresh })).statusCode, 200);
  });
});
