import { createHash } from 'node:crypto';
import { buildTestApp, fixtures } from '../helpers/app.js';
import { WbClient, csrfOf } from './client.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const { app, req, clock } = ta;
  const f = await fixtures(ta);
  const sessions = () => app.db.selectFrom('workbench_sessions').selectAll().execute();
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
  // A second instance on the same database, behind a trusted proxy and with a small rate limit; each client its own address.
  const edge = await buildTestApp(t, { database: ta.database, env: { TRUST_PROXY: 'true', RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' } });

  t.test('a page of the workbench without a session sends the browser to sign in', async (t) => {
    const res = await new WbClient(app).get('/workbench?kind=sandbox-cases');
    t.equal(res.statusCode, 303);
    t.match(String(res.headers.location), /^\/workbench\/sign-in\?next=%2Fworkbench%3Fkind%3Dsandbox-cases/);
    t.equal(res.headers['cache-control'], 'no-store');
  });

  t.test('sign-in: the form, a wrong token, then the right one for a session cookie stored hashed', async (t) => {
    const c = new WbClient(app, { 'accept-language': 'en' });
    const form = await c.get('/workbench/sign-in');
    t.equal(form.statusCode, 200);
    t.match(form.body, /<input type="password" id="token" name="token"/);
    t.match(form.body, /name="_csrf" value="[^"]+"/);
    t.match(c.lastSetCookie.join('\n'), /wb_csrf=[^;]+; Path=\/workbench; HttpOnly; SameSite=Strict/);

    const wrong = await c.post('/workbench/sign-in', { _csrf: csrfOf(form.body), token: 'gdai_not-a-token-at-all-0123456789' });
    t.equal(wrong.statusCode, 401);
    t.match(wrong.body, /<title>Error: Sign in/);
    t.match(wrong.body, /There is a problem/);
    t.match(wrong.body, /<a href="#token">This token is not valid/);
    t.notOk(c.cookies.has('wb_session'));

    const before = (await sessions()).length;
    const ok = await c.post('/workbench/sign-in', { _csrf: csrfOf(wrong.body), token: f.regulator.token, next: '/workbench?state=submitted' });
    t.equal(ok.statusCode, 303);
    t.equal(ok.headers.location, '/workbench?state=submitted');
    const line = c.lastSetCookie.find((l) => l.startsWith('wb_session='))!;
    t.match(line, /^wb_session=[A-Za-z0-9_-]{43}; Path=\/workbench; HttpOnly; SameSite=Strict$/, 'HttpOnly, SameSite=Strict, no Secure over plain HTTP');
    const id = c.cookies.get('wb_session')!;
    const rows = await sessions();
    t.equal(rows.length, before + 1);
    const row = rows.find((r) => r.id_hash === sha256(id));
    t.ok(row, 'the session is stored as the SHA-256 of its id');
    t.notOk(rows.some((r) => r.id_hash === id), 'never the id itself');
    t.equal(row!.principal_id, f.regulator.id);
    t.equal(new Date(row!.expires_at).getTime() - clock.now().getTime(), 8 * 3600 * 1000);

    const home = await c.get('/workbench');
    t.equal(home.statusCode, 200);
    t.match(home.body, /Signed in as/);
    t.match(home.body, /Regulator/);
    t.equal(home.headers['cache-control'], 'no-store');
  });

  t.test('a next address outside the workbench is not followed', async (t) => {
    const c = new WbClient(app);
    const form = await c.get('/workbench/sign-in');
    const res = await c.post('/workbench/sign-in', { _csrf: csrfOf(form.body), token: f.regulator.token, next: '//evil.example/workbench' });
    t.equal(res.headers.location, '/workbench');
  });

  t.test('the session cookie is Secure when the request came over TLS', async (t) => {
    const s = new WbClient(edge.app, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.1' });
    const res = await s.signIn(f.regulator.token);
    t.equal(res.statusCode, 303);
    t.match(s.lastSetCookie.find((l) => l.startsWith('wb_session='))!, /; Secure/);
  });

  t.test('sign-in without the form’s CSRF token is refused and starts no session', async (t) => {
    const c = new WbClient(app);
    await c.get('/workbench/sign-in');
    const before = (await sessions()).length;
    const res = await c.post('/workbench/sign-in', { token: f.regulator.token });
    t.equal(res.statusCode, 403);
    t.match(res.headers['content-type'], /text\/html/);
    const forged = await c.post('/workbench/sign-in', { token: f.regulator.token, _csrf: 'abc-forged' });
    t.equal(forged.statusCode, 403);
    t.equal((await sessions()).length, before);
    t.notOk(c.cookies.has('wb_session'));
  });

  t.test('a session ends after 8 hours without a request, and each request moves that on', async (t) => {
    const c = new WbClient(app);
    await c.signIn(f.applicant.token);
    clock.advance(7 * 3600 * 1000);
    t.equal((await c.get('/workbench')).statusCode, 200, 'after 7 h idle');
    clock.advance(7 * 3600 * 1000);
    t.equal((await c.get('/workbench')).statusCode, 200, 'after another 7 h idle: 14 h since sign-in');
    const hash = sha256(c.cookies.get('wb_session')!);
    clock.advance(8 * 3600 * 1000 + 1000);
    const res = await c.get('/workbench');
    t.equal(res.statusCode, 303);
    t.match(String(res.headers.location), /^\/workbench\/sign-in\?/);
    t.notOk((await sessions()).some((r) => r.id_hash === hash), 'the expired session is removed');
    const page = await c.get(String(res.headers.location));
    t.match(page.body, /Your session has ended|您的会话已结束/);
  });

  t.test('revoking the principal ends its sessions at once', async (t) => {
    const p = await f.principal('applicant', f.applicantOrg.id);
    const c = new WbClient(app);
    await c.signIn(p.token);
    t.equal((await c.get('/workbench')).statusCode, 200);
    const hash = sha256(c.cookies.get('wb_session')!);
    t.equal((await req({ method: 'DELETE', url: `/v1/principals/${p.id}`, token: ta.adminToken })).statusCode, 204);
    const res = await c.get('/workbench');
    t.equal(res.statusCode, 303);
    t.notOk((await sessions()).some((r) => r.id_hash === hash));
    const again = await c.signIn(p.token);
    t.equal(again.statusCode, 401, 'and its token no longer signs in');
  });

  t.test('sign-out ends the session in the database; the old cookie is worth nothing', async (t) => {
    const c = new WbClient(app, { 'accept-language': 'en' });
    await c.signIn(f.regulator.token);
    const id = c.cookies.get('wb_session')!;
    const home = await c.get('/workbench');
    const noToken = await c.post('/workbench/sign-out', {});
    t.equal(noToken.statusCode, 403, 'sign-out without the CSRF token is refused');
    t.ok((await sessions()).some((r) => r.id_hash === sha256(id)), 'and the session lives on');
    const out = await c.post('/workbench/sign-out', { _csrf: csrfOf(home.body) });
    t.equal(out.statusCode, 303);
    t.equal(out.headers.location, '/workbench/sign-in?out=1');
    t.notOk(c.cookies.has('wb_session'), 'the browser is told to drop the cookie');
    t.notOk((await sessions()).some((r) => r.id_hash === sha256(id)), 'the session row is gone');
    const replay = new WbClient(app);
    replay.cookies.set('wb_session', id);
    t.equal((await replay.get('/workbench')).statusCode, 303, 'a kept copy of the cookie signs nobody in');
  });

  t.test('the API keeps its own rules: a form body is still a 415 problem there, and a session cookie is no credential', async (t) => {
    const c = new WbClient(app);
    await c.signIn(f.regulator.token);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/organizations',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `wb_session=${c.cookies.get('wb_session')}`, authorization: `Bearer ${ta.adminToken}` },
      payload: 'name=x',
    });
    t.equal(res.statusCode, 415);
    t.match(res.headers['content-type'], /application\/problem\+json/);
    const noBearer = await app.inject({ method: 'GET', url: '/v1/sandbox-cases', headers: { cookie: `wb_session=${c.cookies.get('wb_session')}` } });
    t.equal(noBearer.statusCode, 401);
  });

  t.test('workbench pages are not in the OpenAPI document', async (t) => {
    const doc = (await req({ method: 'GET', url: '/documentation/json' })).json();
    t.notOk(Object.keys(doc.paths).some((p) => p.startsWith('/workbench')));
  });

  t.test('the workbench counts against the same rate limit as the API, and says so as a page', async (t) => {
    const c = new WbClient(edge.app, { 'accept-language': 'en', 'x-forwarded-for': '192.0.2.2' });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await c.get('/workbench/sign-in'));
    t.same(answers.map((a) => a.statusCode), [200, 200, 200, 429]);
    t.match(answers[3]!.headers['content-type'], /text\/html/);
    t.ok(answers[3]!.headers['retry-after'], 'with Retry-After');
    t.match(answers[3]!.body, /Too many requests/);
  });
});
