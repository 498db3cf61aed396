import { buildTestApp, fixtures } from '../helpers/app.js';
import { WbClient } from './client.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const MAX = 4;
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  // An instance on the same database behind a trusted proxy, with a small budget over a window no test outlasts; each test its own address.
  const edge = await buildTestApp(t, { database: ta.database, env: { TRUST_PROXY: 'true', RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW_MS: '3600000' } });
  let lastOctet = 10;
  const address = () => `198.51.100.${lastOctet++}`;

  const statuses = async (n: number, send: () => Promise<{ statusCode: number }>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await send()).statusCode);
    return out;
  };

  t.test('two people behind one address each have their own budget in the workbench, and the address its own', async (t) => {
    const ip = address();
    const [a, b] = [await f.principal('regulator'), await f.principal('regulator')];
    const alice = new WbClient(edge.app, { 'accept-language': 'en', 'x-forwarded-for': ip });
    const bob = new WbClient(edge.app, { 'accept-language': 'en', 'x-forwarded-for': ip });
    // Signing in is anonymous: two requests each against the address, its whole budget.
    t.equal((await alice.signIn(a.token)).statusCode, 303);
    t.equal((await bob.signIn(b.token)).statusCode, 303);

    t.same(await statuses(MAX, () => alice.get('/workbench')), [200, 200, 200, 200], 'Alice’s pages count against Alice');
    const refused = await alice.get('/workbench');
    t.equal(refused.statusCode, 429);
    t.same(await statuses(MAX, () => bob.get('/workbench')), [200, 200, 200, 200], 'Bob is not blocked by Alice, nor by their shared address');
    t.equal((await bob.get('/workbench')).statusCode, 429);
    const anonymous = new WbClient(edge.app, { 'x-forwarded-for': ip });
    t.equal((await anonymous.get('/workbench/sign-in')).statusCode, 429, 'the address spent its budget on the two sign-ins, and on nothing since');
  });

  t.test('one person’s workbench and API requests share one budget; the refusal is a page in the workbench, a problem in the API', async (t) => {
    const ip = address();
    const p = await f.principal('regulator');
    const c = new WbClient(edge.app, { 'accept-language': 'en', 'x-forwarded-for': ip });
    t.equal((await c.signIn(p.token)).statusCode, 303);
    const api = () => edge.app.inject({ method: 'GET', url: '/v1/sandbox-cases', headers: { authorization: `Bearer ${p.token}`, 'x-forwarded-for': address() } });
    t.same([...(await statuses(2, () => c.get('/workbench'))), ...(await statuses(2, api))], [200, 200, 200, 200]);

    const page = await c.get('/workbench');
    t.equal(page.statusCode, 429, 'the workbench is refused once the API spent the rest');
    t.match(page.headers['content-type'], /^text\/html/);
    t.match(String(page.headers['retry-after']), /^\d+$/);
    t.match(page.body, /<title>Error: Too many requests/);
    t.match(page.body, new RegExp(`Try again in ${page.headers['retry-after']} seconds`));
    const problem = await api();
    t.equal(problem.statusCode, 429, 'and the API, from any address');
    t.match(problem.headers['content-type'], /^application\/problem\+json/);
    t.equal(problem.json().code, 'rate_limited');

    const anonymous = new WbClient(edge.app, { 'x-forwarded-for': ip });
    t.same(await statuses(2, () => anonymous.get('/workbench/sign-in')), [200, 200], 'the address still has the budget its sign-in left');
  });

  t.test('the refusal in Chinese, for the reader who chose it', async (t) => {
    const p = await f.principal('regulator');
    const c = new WbClient(edge.app, { 'accept-language': 'zh-CN', 'x-forwarded-for': address() });
    t.equal((await c.signIn(p.token)).statusCode, 303);
    await statuses(MAX, () => c.get('/workbench'));
    const page = await c.get('/workbench');
    t.equal(page.statusCode, 429);
    t.match(page.body, /<html lang="zh-Hans"/);
    t.match(page.body, /请求过于频繁/);
    t.match(page.body, new RegExp(`请在 ${page.headers['retry-after']} 秒后重试`));
    t.notMatch(page.body, /rate limit of/, 'not the API’s English words');
  });

  t.test('an ended session counts against the address, as any anonymous request', async (t) => {
    const ip = address();
    const p = await f.principal('regulator');
    const c = new WbClient(edge.app, { 'x-forwarded-for': ip });
    t.equal((await c.signIn(p.token)).statusCode, 303);
    t.equal((await ta.req({ method: 'DELETE', url: `/v1/principals/${p.id}`, token: ta.adminToken })).statusCode, 204);
    t.same(await statuses(3, () => c.get('/workbench')), [303, 303, 429], 'two sign-in requests and two redirects spend the address’s four');
  });
});
