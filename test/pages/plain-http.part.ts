import type { Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // Pages opened at http://<lan-ip>:3000 must load their stylesheet and submit their form over the
  // same plain HTTP: HSTS and upgrade-insecure-requests belong only to answers that went over TLS.
  const URLS = ['/register', '/assets/register.css', '/v1/register/sandbox', '/nowhere', '/v1/me'];

  async function headersOf(ta: TestApp, headers: Record<string, string>) {
    return Promise.all(URLS.map(async (url) => ({ url, h: (await ta.req({ method: 'GET', url, headers })).headers })));
  }

  function assertPlain(t: Test, answers: Awaited<ReturnType<typeof headersOf>>, why: string) {
    for (const { url, h } of answers) {
      t.equal(h['strict-transport-security'], undefined, `${url} ${why}: no HSTS`);
      const csp = String(h['content-security-policy'] ?? '');
      t.match(csp, /default-src 'self'/, `${url} ${why}: the CSP is still sent`);
      t.notMatch(csp, /upgrade-insecure-requests/, `${url} ${why}: no upgrade-insecure-requests`);
      t.equal(h['x-content-type-options'], 'nosniff', `${url} ${why}: the other headers are still sent`);
    }
  }

  function assertTls(t: Test, answers: Awaited<ReturnType<typeof headersOf>>, why: string) {
    for (const { url, h } of answers) {
      t.match(String(h['strict-transport-security']), /^max-age=\d+; includeSubDomains/, `${url} ${why}: HSTS`);
      t.ok(Number(/max-age=(\d+)/.exec(String(h['strict-transport-security']))?.[1]) >= 15_552_000, `${url} ${why}: HSTS for at least 180 days`);
      t.match(String(h['content-security-policy']), /(^|;)upgrade-insecure-requests($|;)/, `${url} ${why}: upgrade-insecure-requests`);
    }
  }

  t.test('without a trusted proxy, nothing a client sends turns on HSTS or the upgrade', async (t) => {
    const ta = await buildTestApp(t);
    assertPlain(t, await headersOf(ta, {}), 'over plain HTTP');
    assertPlain(t, await headersOf(ta, { 'x-forwarded-proto': 'https' }), 'with X-Forwarded-Proto: https from an untrusted client');
  });

  t.test('behind a trusted proxy, X-Forwarded-Proto says whether the request came over TLS', async (t) => {
    const ta = await buildTestApp(t, { env: { TRUST_PROXY: 'true' } });
    assertPlain(t, await headersOf(ta, {}), 'with no X-Forwarded-Proto');
    assertPlain(t, await headersOf(ta, { 'x-forwarded-proto': 'http' }), 'with X-Forwarded-Proto: http');
    assertTls(t, await headersOf(ta, { 'x-forwarded-proto': 'https' }), 'with X-Forwarded-Proto: https');
  });
});
